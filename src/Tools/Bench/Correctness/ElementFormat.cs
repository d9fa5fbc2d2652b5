using System.Globalization;
using System.Text;

namespace AgentForge.Tools.Bench;

/// <summary>Log text for comparisons: multi-dimensional positions and float values as Python prints them.</summary>
internal static class ElementFormat
{
    public static string Index(long flat, IReadOnlyList<long> shape)
    {
        if (shape.Count == 0)
        {
            return "[]";
        }
        var coordinates = new long[shape.Count];
        for (var d = shape.Count - 1; d >= 0; d--)
        {
            var extent = Math.Max(shape[d], 1);
            coordinates[d] = flat % extent;
            flat /= extent;
        }
        return "[" + string.Join(", ", coordinates) + "]";
    }

    public static string Value(double value) => value switch
    {
        double.PositiveInfinity => "inf",
        double.NegativeInfinity => "-inf",
        _ when double.IsNaN(value) => "nan",
        _ => value.ToString("G9", CultureInfo.InvariantCulture),
    };

    public static string Summary(string label, ToleranceStats stats, EvaluationSettings settings, IReadOnlyList<long> shape)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture,
            $"{label}: max_abs={Value(stats.MaxAbsoluteError)} max_rel={Value(stats.MaxRelativeError)} " +
            $"matched_ratio={stats.MatchedRatio.ToString("0.######", CultureInfo.InvariantCulture)} " +
            $"({stats.MismatchedElements} of {stats.TotalElements} outside atol={Value(settings.Atol)} rtol={Value(settings.Rtol)}; " +
            $"required {Value(settings.RequiredMatchedRatio)})");
        if (stats.SharedNonFinite > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"; {stats.SharedNonFinite} non-finite value(s) equal to the reference's");
        }
        if (stats.ReferenceNonFinite > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"; {stats.ReferenceNonFinite} finite value(s) where the reference is inf or NaN");
        }
        if (stats.FirstMismatch is { } first)
        {
            text.Append(CultureInfo.InvariantCulture,
                $"; first mismatch at {Index(first.Index, shape)}: got {Value(first.Candidate)}, expected {Value(first.Reference)}");
        }
        return text.ToString();
    }
}
