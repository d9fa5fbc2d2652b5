namespace AgentForge.Tools.Bench;

public static class Statistics
{
    public static double Median(IReadOnlyCollection<double> values)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }
        var sorted = values.Order().ToArray();
        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    /// <summary>
    /// The index of the median of <paramref name="values"/> (the lower middle of an even count; of
    /// equal values the earliest): which timed call a trial reports (its timeline, its host issue time).
    /// </summary>
    public static int MedianIndex(IReadOnlyList<double> values) =>
        Enumerable.Range(0, values.Count).OrderBy(i => values[i]).ElementAt((values.Count - 1) / 2);

    public static double GeometricMean(IEnumerable<double> values)
    {
        var list = values.Where(v => v > 0 && double.IsFinite(v)).ToList();
        return list.Count == 0 ? double.NaN : Math.Exp(list.Average(Math.Log));
    }

    /// <summary>Relative spread (max - min) / median, the noise a challenger must beat.</summary>
    public static double RelativeSpread(IReadOnlyCollection<double> values)
    {
        if (values.Count < 2)
        {
            return 0;
        }
        return (values.Max() - values.Min()) / Median(values);
    }
}
