namespace AgentForge.Tools.Inputs;

/// <summary>
/// Sequential draws from one <see cref="CounterRng"/> stream, for the small sequential decisions
/// of structure synthesis (split points, page choices). Single-threaded by design: give each
/// parallel work item its own stream key.
/// </summary>
internal sealed class RandomStream(ulong key)
{
    private readonly CounterRng _rng = new(key);
    private ulong _counter;

    public ulong NextUInt64() => _rng.At(_counter++);

    /// <summary>Uniform on [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform on [0, <paramref name="bound"/>), without modulo bias (Lemire's method).</summary>
    public long NextInt64(long bound)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bound);
        var range = (ulong)bound;
        var product = Math.BigMul(NextUInt64(), range, out var low);
        if (low < range)
        {
            var threshold = (0 - range) % range;
            while (low < threshold)
            {
                product = Math.BigMul(NextUInt64(), range, out low);
            }
        }
        return (long)product;
    }

    /// <summary>Uniform on [<paramref name="min"/>, <paramref name="max"/>], both inclusive.</summary>
    public long NextInclusive(long min, long max) => min + NextInt64(max - min + 1);

    /// <summary>
    /// <paramref name="count"/> distinct values of [0, <paramref name="range"/>) in random order:
    /// Floyd's sampling (O(count) whatever the range) followed by a shuffle, because Floyd's
    /// output order is not uniform.
    /// </summary>
    public long[] Distinct(int count, long range)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, range);
        var chosen = new HashSet<long>(count);
        var result = new long[count];
        var n = 0;
        for (var j = range - count; j < range; j++)
        {
            var t = NextInt64(j + 1);
            var pick = chosen.Add(t) ? t : j;
            if (pick == j)
            {
                chosen.Add(j);
            }
            result[n++] = pick;
        }
        Shuffle(result);
        return result;
    }

    public void Shuffle<T>(Span<T> items)
    {
        for (var i = items.Length - 1; i > 0; i--)
        {
            var j = (int)NextInt64(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}
