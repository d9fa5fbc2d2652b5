# A stand-in for `agentforge worker` that speaks the JSON-lines protocol without a GPU. The
# inputs_path of a run request selects its behaviour: "crash" dies mid-call, "hang" never
# answers, "fatal" answers with fatal=true and exits, "noisy" prints junk before answering,
# "sleep=S" takes S seconds. Arguments: --mute never answers anything (a launcher stuck in a
# queue), --no-device answers like a worker on a machine without a GPU, --device NAME reports
# another card.
import json
import os
import socket
import sys
import time

loads = []
args = sys.argv[1:]
mute = "--mute" in args
no_device = "--no-device" in args
device = args[args.index("--device") + 1] if "--device" in args else "Fake GPU"


def reply(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


for line in sys.stdin:
    request = json.loads(line)
    rid, op = request["id"], request["op"]
    if mute:
        continue
    if op == "hello":
        if no_device:
            reply({"id": rid, "ok": True, "hello": {
                "device": "none", "architecture": "", "multiprocessors": 0, "l2_bytes": 0, "memory_bytes": 0,
                "driver_version": 0, "copy_bandwidth_gbps": 0, "process_id": os.getpid(),
                "device_error": "no CUDA driver: libcuda.so.1 could not be loaded (fake)", "host": socket.gethostname()}})
        else:
            reply({"id": rid, "ok": True, "hello": {
                "device": device, "architecture": "sm_90", "multiprocessors": 132,
                "l2_bytes": 52428800, "memory_bytes": 85899345920, "driver_version": 13000,
                "copy_bandwidth_gbps": 3000.0, "process_id": os.getpid(), "host": socket.gethostname()}})
    elif op == "health":
        reply({"id": rid, "ok": True})
    elif op in ("load", "run") and no_device:
        reply({"id": rid, "ok": False, "error": "this worker has no GPU and cannot run candidates (fake)"})
    elif op == "load":
        loads.append(request["library"])
        reply({"id": rid, "ok": True, "handle": len(loads) - 1})
    elif op == "run":
        path = request.get("inputs_path", "")
        if "crash" in path:
            sys.stderr.write("CUDA_ERROR_ILLEGAL_ADDRESS in fake kernel\n")
            sys.stderr.flush()
            os._exit(134)
        if "hang" in path:
            time.sleep(3600)
        if "fatal" in path:
            reply({"id": rid, "ok": False, "status": "RUNTIME_ERROR", "error": "cuCtxSynchronize failed: CUDA_ERROR_ILLEGAL_ADDRESS (700)", "fatal": True})
            sys.exit(3)
        if "noisy" in path:
            sys.stdout.write("a candidate printed this\n")
        if "sleep=" in path:
            time.sleep(float(path.split("sleep=")[1]))
        reply({"id": rid, "ok": True, "outputs_path": request.get("output_path"),
               "latencies_ms": [0.5, 0.25, 0.75], "timing_method": "cuda_events",
               "error": "loads=" + ",".join(loads) + ";handle=" + str(request.get("handle"))})
    elif op == "shutdown":
        reply({"id": rid, "ok": True})
        break
    else:
        reply({"id": rid, "ok": False, "error": "unknown op"})
