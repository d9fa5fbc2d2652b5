namespace AgentForge.Tools.Cuda;

/// <summary>Readable kernel names from the mangled ones CUPTI reports.</summary>
public static class KernelNames
{
    /// <summary>
    /// The last identifier of an Itanium-mangled name's (nested) name, which for a kernel is the
    /// function's own name: "_ZN8split_kv12merge_kernelILi64EEEvPKf..." gives "merge_kernel", an
    /// anonymous namespace's "_ZN12_GLOBAL__N_118moe_routing_kernelEv..." gives
    /// "moe_routing_kernel". A name that is not mangled (extern "C") comes back as it is.
    /// </summary>
    public static string Short(string name)
    {
        if (!name.StartsWith("_Z", StringComparison.Ordinal))
        {
            return name;
        }
        var i = name.Length > 2 && name[2] == 'N' ? 3 : 2;
        string? last = null;
        while (i < name.Length && char.IsAsciiDigit(name[i]))
        {
            var digits = i;
            while (i < name.Length && char.IsAsciiDigit(name[i]))
            {
                i++;
            }
            if (!int.TryParse(name.AsSpan(digits, i - digits), out var length) || length <= 0 || i + length > name.Length)
            {
                break;
            }
            last = name.Substring(i, length);
            i += length;
        }
        return last ?? name;
    }
}
