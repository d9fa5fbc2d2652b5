using AgentForge.Orchestrator.Commands;

return await AgentForgeCli.RunAsync(args);
