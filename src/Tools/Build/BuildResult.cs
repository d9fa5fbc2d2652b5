namespace AgentForge.Tools.Build;

/// <summary>A compiled candidate library, or the compiler log of a failed build (COMPILE_ERROR).</summary>
public sealed record BuildResult(bool Succeeded, string? LibraryPath, string Log, string CacheKey, bool FromCache, string Architecture)
{
    public static BuildResult Failed(string log, string cacheKey, string architecture) => new(false, null, log, cacheKey, false, architecture);
}
