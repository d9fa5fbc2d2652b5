using System.Globalization;

namespace AgentForge.Tools.Trace;

/// <summary>
/// Formats doubles as Python's repr does (1.0, 2.5, 1e-05, 1e+16), which is what FlashInfer-Bench
/// files contain: an integral float keeps its ".0" so it reads back as a float, not an integer.
/// </summary>
internal static class PythonFloat
{
    public static string Format(double value)
    {
        if (!double.IsFinite(value))
        {
            throw new ArgumentOutOfRangeException(nameof(value), value, "non-finite values have no JSON number form");
        }
        // "E16" is not shortest; "R" is, so take its digits and exponent and lay them out again.
        var r = value.ToString("R", CultureInfo.InvariantCulture);
        var negative = r.StartsWith('-');
        if (negative)
        {
            r = r[1..];
        }
        var exponentAt = r.IndexOf('E');
        var exponent = exponentAt >= 0 ? int.Parse(r[(exponentAt + 1)..], CultureInfo.InvariantCulture) : 0;
        var mantissa = exponentAt >= 0 ? r[..exponentAt] : r;
        var point = mantissa.IndexOf('.');
        var digits = point >= 0 ? mantissa.Remove(point, 1) : mantissa;
        // Decimal point position relative to the digit string: value = 0.<digits> * 10^decimalPoint.
        var decimalPoint = (point >= 0 ? point : mantissa.Length) + exponent;
        var leadingZeros = digits.Length - digits.TrimStart('0').Length;
        digits = digits.Trim('0');
        decimalPoint -= leadingZeros;
        if (digits.Length == 0)
        {
            return negative ? "-0.0" : "0.0";
        }
        string text;
        if (decimalPoint is > -4 and <= 16)
        {
            text = decimalPoint <= 0
                ? "0." + new string('0', -decimalPoint) + digits
                : decimalPoint >= digits.Length
                    ? digits + new string('0', decimalPoint - digits.Length) + ".0"
                    : digits[..decimalPoint] + "." + digits[decimalPoint..];
        }
        else
        {
            var e = decimalPoint - 1;
            text = (digits.Length == 1 ? digits : digits[0] + "." + digits[1..])
                + "e" + (e < 0 ? "-" : "+") + Math.Abs(e).ToString("00", CultureInfo.InvariantCulture);
        }
        return negative ? "-" + text : text;
    }
}
