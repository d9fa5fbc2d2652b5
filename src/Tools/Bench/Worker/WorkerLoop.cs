namespace AgentForge.Tools.Bench.Worker;

/// <summary>
/// The worker's side of the JSON-lines protocol: one request per line in, one answer per line
/// out, until shutdown, the end of input, or a fatal answer (the process must then exit).
/// </summary>
public static class WorkerLoop
{
    /// <summary>Serves requests with <paramref name="handle"/>; returns the process exit code.</summary>
    public static int Serve(TextReader input, TextWriter output, Func<WorkerRequest, WorkerResponse> handle)
    {
        string? line;
        while ((line = input.ReadLine()) is not null)
        {
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }
            WorkerRequest? request;
            try
            {
                request = WorkerJson.ParseRequest(line);
            }
            catch (System.Text.Json.JsonException e)
            {
                Reply(output, new WorkerResponse(-1, false, Error: $"malformed request: {e.Message}"));
                continue;
            }
            if (request is null)
            {
                continue;
            }
            var response = handle(request);
            Reply(output, response);
            if (response.Fatal || request.Op == "shutdown")
            {
                return response.Fatal ? 3 : 0;
            }
        }
        return 0;
    }

    private static void Reply(TextWriter output, WorkerResponse response)
    {
        output.WriteLine(WorkerJson.Serialize(response));
        output.Flush();
    }
}
