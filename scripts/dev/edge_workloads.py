"""Workloads the dataset does not hold, for each definition the baselines serve: sizes between,
below and above the dataset's (a demanding user calls the kernels with any valid input, not only
the contest's 19 / 100 / 54 / 128 / 23 shapes), written as a dataset of their own.

    python3 scripts/dev/edge_workloads.py DATASET OUT_DIR
    python3 scripts/dev/edge_workloads.py --list DATASET   (definition, uuid and axes of each, one a line)
    FIB_DATASET_PATH=OUT_DIR agentforge bench --definition D --baseline --trials 1   (scripts/device/edge-check.sh)

OUT_DIR gets the definitions (copied) and one JSONL per definition with only the new workloads. Each
new workload copies the input specs of the dataset's first workload of its definition (random
tensors, scalars as given) with its own axes and uuid; blob inputs point at absent files, which the
harness synthesizes from the axes (cu_seqlens, sparse indices, seq_lens / block_table, routing
logits and bias, the GDN prefill's q / k), the same way for every run. The uuids are derived from the
definition, the axes and the scalars, so a rerun reuses its cached inputs and references.
A few inputs the synthesizers never produce are written here as explicit integer blobs: GDN prefill
cu_seqlens with empty sequences and with tokens outside every sequence (the reference leaves those
states zero and those output rows zero), and indexer seq_lens with an empty row, a one-token row and a
row of exactly 2048 tokens beside a scored one; each in a file of its own, so that the workload's other
blob inputs are still synthesized.
"""
import json
import os
import shutil
import struct
import sys
import uuid

# Per definition: (axes, scalar overrides) of each new workload, and why it is there.
EDGES = {
    "moe_fp8_block_scale_ds_routing_topk8_ng8_kg4_e32_h7168_i2048": [
        # below the first split-K band, between bands, just past each host switch (MOE_SMALL_T = 256,
        # MOE_GEMM1_SMALL_TILE_MAX_T = 256, MOE_WGMMA_BM64_MAX_T = 4096), and above the dataset's largest T
        ({"seq_len": 2}, {"local_expert_offset": 0}),
        ({"seq_len": 3}, {"local_expert_offset": 224}),
        ({"seq_len": 100}, {"local_expert_offset": 96}),
        ({"seq_len": 128}, {"local_expert_offset": 0}),
        ({"seq_len": 192}, {"local_expert_offset": 64}),
        ({"seq_len": 256}, {"local_expert_offset": 32}),
        ({"seq_len": 257}, {"local_expert_offset": 32}),
        ({"seq_len": 384}, {"local_expert_offset": 160}),
        ({"seq_len": 512}, {"local_expert_offset": 192}),
        ({"seq_len": 700}, {"local_expert_offset": 0}),
        ({"seq_len": 1025}, {"local_expert_offset": 128}),
        ({"seq_len": 2048}, {"local_expert_offset": 96}),
        ({"seq_len": 4097}, {"local_expert_offset": 64}),
        ({"seq_len": 6144}, {"local_expert_offset": 224}),
        ({"seq_len": 8192}, {"local_expert_offset": 0}),
        ({"seq_len": 16384}, {"local_expert_offset": 160}),
    ],
    "gdn_decode_qk4_v8_d128_k_last": [
        ({"batch_size": 2}, {}),
        ({"batch_size": 3}, {}),
        ({"batch_size": 9}, {}),
        ({"batch_size": 100}, {}),
        ({"batch_size": 128}, {}),
        ({"batch_size": 256}, {}),
        ({"batch_size": 512}, {}),
    ],
    "gdn_prefill_qk4_v8_d128_k_last": [
        # one token; a chunk exactly; a chunk and one; many one-token sequences (past the persistent
        # scan's 128-sequence table); long single and few sequences past the dataset's 8192
        ({"total_seq_len": 1, "num_seqs": 1, "len_cu_seqlens": 2}, {}),
        ({"total_seq_len": 64, "num_seqs": 1, "len_cu_seqlens": 2}, {}),
        ({"total_seq_len": 65, "num_seqs": 1, "len_cu_seqlens": 2}, {}),
        ({"total_seq_len": 129, "num_seqs": 2, "len_cu_seqlens": 3}, {}),
        ({"total_seq_len": 300, "num_seqs": 150, "len_cu_seqlens": 151}, {}),
        ({"total_seq_len": 1000, "num_seqs": 130, "len_cu_seqlens": 131}, {}),
        ({"total_seq_len": 8192, "num_seqs": 128, "len_cu_seqlens": 129}, {}),
        ({"total_seq_len": 8192, "num_seqs": 200, "len_cu_seqlens": 201}, {}),
        ({"total_seq_len": 2048, "num_seqs": 1024, "len_cu_seqlens": 1025}, {}),
        ({"total_seq_len": 4096, "num_seqs": 1500, "len_cu_seqlens": 1501}, {}),
        ({"total_seq_len": 12000, "num_seqs": 3, "len_cu_seqlens": 4}, {}),
        ({"total_seq_len": 16384, "num_seqs": 1, "len_cu_seqlens": 2}, {}),
        # explicit cu_seqlens (BLOBS below): empty sequences, tokens before the first and after the last
        ({"total_seq_len": 100, "num_seqs": 5, "len_cu_seqlens": 6}, {}),
        ({"total_seq_len": 100, "num_seqs": 2, "len_cu_seqlens": 3}, {}),
        ({"total_seq_len": 3000, "num_seqs": 6, "len_cu_seqlens": 7}, {}),
        ({"total_seq_len": 400, "num_seqs": 140, "len_cu_seqlens": 141}, {}),
        ({"total_seq_len": 20, "num_seqs": 4, "len_cu_seqlens": 5}, {}),  # all of it in a small call
        # GDN_PREFILL_RECURRENT_MAX_AVG_T's worst case (BLOBS): an average of 4 with one long sequence
        ({"total_seq_len": 2048, "num_seqs": 512, "len_cu_seqlens": 513}, {}),
        ({"total_seq_len": 1536, "num_seqs": 512, "len_cu_seqlens": 513}, {}),  # the same at an average of 3
    ],
    "dsa_sparse_attention_h16_ckv512_kpe64_topk2048_ps64": [
        ({"num_tokens": 3, "num_pages": 8462}, {}),
        ({"num_tokens": 9, "num_pages": 8462}, {}),
        ({"num_tokens": 16, "num_pages": 8462}, {}),
        ({"num_tokens": 64, "num_pages": 8462}, {}),
        ({"num_tokens": 4, "num_pages": 20}, {}),  # a cache of 1280 tokens: every row padded
    ],
    "dsa_topk_indexer_fp8_h64_d128_topk2048_ps64": [
        ({"batch_size": 1, "max_num_pages": 32, "num_pages": 11923}, {}),   # the pass-through's edge
        ({"batch_size": 1, "max_num_pages": 33, "num_pages": 11923}, {}),
        ({"batch_size": 4, "max_num_pages": 128, "num_pages": 11923}, {}),
        ({"batch_size": 32, "max_num_pages": 91, "num_pages": 11923}, {}),
        ({"batch_size": 64, "max_num_pages": 64, "num_pages": 11923}, {}),
        ({"batch_size": 16, "max_num_pages": 200, "num_pages": 11923}, {}),
        ({"batch_size": 3, "max_num_pages": 91, "num_pages": 300}, {}),      # a small cache
        ({"batch_size": 4, "max_num_pages": 40, "num_pages": 11923}, {}),    # explicit seq_lens (BLOBS)
    ],
}

# Explicit integer blobs by (definition, axes as sorted items): input name -> (safetensors dtype, values).
def _cu(lengths, start=0):
    out = [start]
    for n in lengths:
        out.append(out[-1] + n)
    return out


BLOBS = {
    ("gdn_prefill_qk4_v8_d128_k_last", (("len_cu_seqlens", 6), ("num_seqs", 5), ("total_seq_len", 100))):
        {"cu_seqlens": ("I64", _cu([30, 0, 40, 0, 30]))},
    ("gdn_prefill_qk4_v8_d128_k_last", (("len_cu_seqlens", 3), ("num_seqs", 2), ("total_seq_len", 100))):
        {"cu_seqlens": ("I64", [5, 40, 90])},  # tokens 0-4 and 90-99 belong to no sequence
    ("gdn_prefill_qk4_v8_d128_k_last", (("len_cu_seqlens", 7), ("num_seqs", 6), ("total_seq_len", 3000))):
        {"cu_seqlens": ("I64", _cu([0, 2100, 0, 1, 899, 0]))},  # a long chain beside empty sequences
    ("gdn_prefill_qk4_v8_d128_k_last", (("len_cu_seqlens", 141), ("num_seqs", 140), ("total_seq_len", 400))):
        {"cu_seqlens": ("I64", _cu([0, 5] * 40 + [0] * 40 + [10] * 20))},  # past the persistent scan's tables
    ("gdn_prefill_qk4_v8_d128_k_last", (("len_cu_seqlens", 5), ("num_seqs", 4), ("total_seq_len", 20))):
        {"cu_seqlens": ("I64", [2, 2, 10, 10, 18])},  # tokens 0-1 and 18-19 outside, two empty sequences
    ("gdn_prefill_qk4_v8_d128_k_last", (("len_cu_seqlens", 513), ("num_seqs", 512), ("total_seq_len", 2048))):
        {"cu_seqlens": ("I64", _cu([1537] + [1] * 511))},  # one chain of 1537 tokens beside 511 one-token sequences
    ("gdn_prefill_qk4_v8_d128_k_last", (("len_cu_seqlens", 513), ("num_seqs", 512), ("total_seq_len", 1536))):
        {"cu_seqlens": ("I64", _cu([1025] + [1] * 511))},
    ("dsa_topk_indexer_fp8_h64_d128_topk2048_ps64", (("batch_size", 4), ("max_num_pages", 40), ("num_pages", 11923))):
        {"seq_lens": ("I32", [0, 2560, 1, 2048])},  # empty, full, one token, the pass-through's edge
}


def write_int_safetensors(path, key, dtype, values):
    """A safetensors file holding one I64 or I32 tensor (the reference layout: size, padded JSON, data)."""
    data = struct.pack(f"<{len(values)}{ {'I64': 'q', 'I32': 'i'}[dtype] }", *values)
    header = json.dumps({key: {"dtype": dtype, "shape": [len(values)], "data_offsets": [0, len(data)]}},
                        separators=(",", ":")).encode()
    header += b" " * (-len(header) % 8)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header + data)


def first_workload(path):
    with open(path) as f:
        for line in f:
            if line.strip():
                return json.loads(line)
    raise ValueError(f"{path} holds no workload")


def edge_record(template, definition, axes, scalars, explicit):
    """The new workload's record; `explicit` (input name -> blob) names the inputs written here."""
    record = json.loads(json.dumps(template))
    workload = record["workload"]
    key = json.dumps({"definition": definition, "axes": axes, "scalars": scalars}, sort_keys=True)
    uid = str(uuid.uuid5(uuid.NAMESPACE_URL, "agentforge-edge/" + key))
    workload["uuid"] = uid
    workload["axes"] = dict(axes)
    for name, spec in workload["inputs"].items():
        if spec["type"] == "safetensors":
            folder = os.path.dirname(spec["path"])
            own = f"_{name}" if name in explicit else ""
            spec["path"] = f"{folder}/{definition}_{uid.replace('-', '')}{own}.safetensors"
        elif spec["type"] == "scalar" and name in scalars:
            spec["value"] = scalars[name]
    unknown_blobs = set(explicit) - {n for n, sp in workload["inputs"].items() if sp["type"] == "safetensors"}
    if unknown_blobs:
        raise ValueError(f"{definition}: no blob input named {sorted(unknown_blobs)}")
    unknown = set(scalars) - {n for n, s in workload["inputs"].items() if s["type"] == "scalar"}
    if unknown:
        raise ValueError(f"{definition}: no scalar input named {sorted(unknown)}")
    record["evaluation"] = None
    return record


def edge_workloads(dataset):
    """(workload file relative to the dataset, definition, axes, record, explicit blobs) of every edge,
    file by file in name order, each definition's edges in EDGES order."""
    found = set()
    for root, _, files in sorted(os.walk(os.path.join(dataset, "workloads"))):
        for name in sorted(files):
            definition = name[:-len(".jsonl")] if name.endswith(".jsonl") else None
            if definition not in EDGES:
                continue
            found.add(definition)
            rel = os.path.relpath(os.path.join(root, name), dataset)
            template = first_workload(os.path.join(root, name))
            for axes, scalars in EDGES[definition]:
                explicit = BLOBS.get((definition, tuple(sorted(axes.items()))), {})
                yield rel, definition, axes, edge_record(template, definition, axes, scalars, explicit), explicit
    missing = set(EDGES) - found
    if missing:
        raise SystemExit(f"no workload file in {dataset} for {sorted(missing)}")


def main(dataset, out_dir):
    for root, _, files in os.walk(os.path.join(dataset, "definitions")):
        for name in files:
            rel = os.path.relpath(os.path.join(root, name), dataset)
            os.makedirs(os.path.dirname(os.path.join(out_dir, rel)), exist_ok=True)
            shutil.copyfile(os.path.join(dataset, rel), os.path.join(out_dir, rel))
    lines = {}
    for rel, _, _, record, explicit in edge_workloads(dataset):
        lines.setdefault(rel, []).append(json.dumps(record) + "\n")
        for name, (dtype, values) in explicit.items():
            spec = record["workload"]["inputs"][name]
            write_int_safetensors(os.path.join(out_dir, spec["path"]), spec["tensor_key"], dtype, values)
    for rel, records in lines.items():
        os.makedirs(os.path.dirname(os.path.join(out_dir, rel)), exist_ok=True)
        with open(os.path.join(out_dir, rel), "w") as f:
            f.writelines(records)
    print(f"{sum(len(r) for r in lines.values())} workloads for {len(EDGES)} definitions in {out_dir}")


def list_edges(dataset):
    for _, definition, axes, record, _ in edge_workloads(dataset):
        print(definition, record["workload"]["uuid"], json.dumps(axes, separators=(",", ":")))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--list":
        list_edges(sys.argv[2])
    elif len(sys.argv) == 3:
        main(sys.argv[1], sys.argv[2])
    else:
        raise SystemExit(__doc__)
