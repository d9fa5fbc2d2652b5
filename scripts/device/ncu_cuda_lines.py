import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
hi = next(i for i, r in enumerate(rows) if r and r[0] in ("#", "Line", "Address"))
hdr = rows[hi]; data = rows[hi + 1:]
print(hdr[:8])
def col(name):
    return hdr.index(name) if name in hdr else None
ie = col("Instructions Executed"); iss = col("Warp Stall Sampling (All Samples)"); isrc = col("Source")
def num(v):
    v = v.replace(",", "")
    try: return float(v)
    except: return 0.0
tot_e = sum(num(r[ie]) for r in data if len(r) > ie) or 1
tot_s = sum(num(r[iss]) for r in data if len(r) > iss) or 1
top = sorted(data, key=lambda r: -num(r[iss]) if len(r) > iss else 0)[:40]
for r in top:
    print(f"{100*num(r[iss])/tot_s:5.1f}% samples {100*num(r[ie])/tot_e:5.1f}% instr  L{r[0]}: {r[isrc].strip()[:100]}")
