namespace AgentForge.Tools.Trace;

/// <summary>
/// Value equality for the collections inside the trace records. Records compare list members by
/// reference; a definition read twice must compare equal (round trips, cache keys).
/// </summary>
internal static class Structural
{
    public static bool ListEqual<T>(IReadOnlyList<T>? a, IReadOnlyList<T>? b)
    {
        if (ReferenceEquals(a, b))
        {
            return true;
        }
        if (a is null || b is null || a.Count != b.Count)
        {
            return false;
        }
        var comparer = EqualityComparer<T>.Default;
        for (var i = 0; i < a.Count; i++)
        {
            if (!comparer.Equals(a[i], b[i]))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Ordered pairs: the order of inputs and axes is part of a definition's interface.</summary>
    public static bool PairsEqual<T>(IReadOnlyList<KeyValuePair<string, T>> a, IReadOnlyList<KeyValuePair<string, T>> b)
    {
        if (ReferenceEquals(a, b))
        {
            return true;
        }
        if (a.Count != b.Count)
        {
            return false;
        }
        var comparer = EqualityComparer<T>.Default;
        for (var i = 0; i < a.Count; i++)
        {
            if (a[i].Key != b[i].Key || !comparer.Equals(a[i].Value, b[i].Value))
            {
                return false;
            }
        }
        return true;
    }

    public static bool DictionaryEqual<T>(IReadOnlyDictionary<string, T> a, IReadOnlyDictionary<string, T> b)
    {
        if (ReferenceEquals(a, b))
        {
            return true;
        }
        if (a.Count != b.Count)
        {
            return false;
        }
        var comparer = EqualityComparer<T>.Default;
        foreach (var (key, value) in a)
        {
            if (!b.TryGetValue(key, out var other) || !comparer.Equals(value, other))
            {
                return false;
            }
        }
        return true;
    }
}
