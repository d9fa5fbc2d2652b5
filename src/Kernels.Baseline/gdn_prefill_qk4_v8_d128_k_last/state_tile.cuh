// state_tile.cuh: the per-warp pieces of the state chain shared by the fused kernel (fused.cuh) and
// the split scan (scan_split.cuh), whose state warps each own 32 rows d of the state slice
// S [128 x BV] (two m16 tiles, every column: s[mt][nt] is rows d0 + 16 mt + {g, g+8}, columns
// 8 nt + 2 tq + {0, 1}), and the output rows every chunked kernel writes.
// Included inside kernel.cu's anonymous namespace after mma_bf16.cuh.
#pragma once

// Calls f(element, offset) for each element of this warp's tile, offset = the element's index in
// the [v][k] rows of the slice (c * kD + d): the layout S has in global memory. kMtStride: the rows
// between the warp's two m16 tiles (16: rows d0..d0+31; 64: the wgmma split scan's rows d0.. and
// d0 + 64.., each m64 block's 16 rows of this warp).
template <int NT, int kMtStride = 16, typename T, typename F>
__device__ __forceinline__ void for_each_state_element(T (&s)[2][NT][4], int d0, int lane, F f) {
  const int g = lane >> 2, tq = lane & 3;
#pragma unroll
  for (int mt = 0; mt < 2; ++mt) {
#pragma unroll
    for (int nt = 0; nt < NT; ++nt) {
      const int d = d0 + mt * kMtStride + g, c = nt * 8 + 2 * tq;
      f(s[mt][nt][0], c * kD + d);
      f(s[mt][nt][1], (c + 1) * kD + d);
      f(s[mt][nt][2], c * kD + d + 8);
      f(s[mt][nt][3], (c + 1) * kD + d + 8);
    }
  }
}

// S from global memory in the definition's [v][k] layout (src at row v0 of this head), or zeros.
// Each load instruction reads four 32-byte runs of the [v][k] rows.
template <int NT, int kMtStride = 16>
__device__ __forceinline__ void load_state_tile(float (&s)[2][NT][4], const float* src, int d0, int lane) {
  for_each_state_element<NT, kMtStride>(s, d0, lane, [&](float& x, int offset) { x = src != nullptr ? src[offset] : 0.f; });
}

// S to global memory in [v][k] layout (dst at row v0 of this head).
template <int NT, int kMtStride = 16>
__device__ __forceinline__ void store_state_tile(float* dst, const float (&s)[2][NT][4], int d0, int lane) {
  for_each_state_element<NT, kMtStride>(s, d0, lane, [&](const float& x, int offset) { dst[offset] = x; });
}

// Calls f(d, c, x, y) for each pair of this warp's tile that shares row d: columns c, c + 1 of the
// slice hold x, y.
template <int NT, typename F>
__device__ __forceinline__ void for_each_state_pair(const float (&s)[2][NT][4], int d0, int lane, F f) {
  const int g = lane >> 2, tq = lane & 3;
#pragma unroll
  for (int mt = 0; mt < 2; ++mt) {
#pragma unroll
    for (int nt = 0; nt < NT; ++nt) {
      const int d = d0 + mt * 16 + g, c = nt * 8 + 2 * tq;
      f(d, c, s[mt][nt][0], s[mt][nt][1]);
      f(d + 8, c, s[mt][nt][2], s[mt][nt][3]);
    }
  }
}

// The bf16 copy of this warp's rows of S that the chunk's products read, [k][v] with row stride ld.
template <int NT>
__device__ __forceinline__ void copy_state_tile_bf16(__nv_bfloat16* s_copy, int ld, const float (&s)[2][NT][4], int d0, int lane) {
  for_each_state_pair(s, d0, lane, [&](int d, int c, float x, float y) { store_bf16x2(s_copy + d * ld + c, x, y); });
}

// S = gc S + Kd^T U' for this warp's rows: Kd [64][kLdK] (chunk rows x k), U' [64][ld].
template <int NT>
__device__ __forceinline__ void update_state_tile(float (&s)[2][NT][4], float gc, const __nv_bfloat16* kd,
                                                  const __nv_bfloat16* up, int ld, int d0, int lane) {
#pragma unroll
  for (int mt = 0; mt < 2; ++mt) {
#pragma unroll
    for (int nt = 0; nt < NT; ++nt) {
#pragma unroll
      for (int e = 0; e < 4; ++e) s[mt][nt][e] *= gc;
    }
#pragma unroll
    for (int k0 = 0; k0 < kC; k0 += 16) {
      uint32_t af[4];
      load_a_trans(af, kd, kLdK, d0 + mt * 16, k0, lane);
#pragma unroll
      for (int nt = 0; nt < NT; nt += 2) {
        uint32_t bf[4];
        load_b_cols(bf, up, ld, nt * 8, k0, lane);
        mma_bf16(s[mt][nt], af, bf[0], bf[1]);
        mma_bf16(s[mt][nt + 1], af, bf[2], bf[3]);
      }
    }
  }
}

// One warp's 16 chunk rows (from m0) of O = scale (diag(G) Q S + P U') to output [T][8][128], head h,
// columns col0 + 8 nt + 2 tq; rows at or past len are not stored. qs and pu are the m16 x 8 NT tiles
// of Q S and P U', g_lo / g_hi the decays of rows m0 + g and m0 + g + 8.
template <int NT>
__device__ __forceinline__ void store_output_tile(__nv_bfloat16* output, int64_t c0, int len, int m0, int h, int col0,
                                                  float scale, float g_lo, float g_hi, const float (&qs)[NT][4],
                                                  const float (&pu)[NT][4], int lane) {
  const int g = lane >> 2, tq = lane & 3;
#pragma unroll
  for (int nt = 0; nt < NT; ++nt) {
    const int c = col0 + nt * 8 + 2 * tq;
    if (m0 + g < len) {
      store_bf16x2(output + ((c0 + m0 + g) * kNumVHeads + h) * kD + c,
                   scale * (g_lo * qs[nt][0] + pu[nt][0]), scale * (g_lo * qs[nt][1] + pu[nt][1]));
    }
    if (m0 + g + 8 < len) {
      store_bf16x2(output + ((c0 + m0 + g + 8) * kNumVHeads + h) * kD + c,
                   scale * (g_hi * qs[nt][2] + pu[nt][2]), scale * (g_hi * qs[nt][3] + pu[nt][3]));
    }
  }
}

// U' = U - W S for one warp's 16 chunk rows (from m0), 8 NT columns: u points at the slice's first
// column of U (row stride ldu), ws is the m16 x 8 NT tile of W S; U' goes to up (row stride ld).
template <int NT>
__device__ __forceinline__ void store_pseudo_values(__nv_bfloat16* up, int ld, const __nv_bfloat16* u, int ldu,
                                                    const float (&ws)[NT][4], int m0, int lane) {
  const int g = lane >> 2, tq = lane & 3;
#pragma unroll
  for (int nt = 0; nt < NT; ++nt) {
    const int c = nt * 8 + 2 * tq;
    const float2 lo = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(u + (m0 + g) * ldu + c));
    const float2 hi = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(u + (m0 + g + 8) * ldu + c));
    store_bf16x2(up + (m0 + g) * ld + c, lo.x - ws[nt][0], lo.y - ws[nt][1]);
    store_bf16x2(up + (m0 + g + 8) * ld + c, hi.x - ws[nt][2], hi.y - ws[nt][3]);
  }
}
