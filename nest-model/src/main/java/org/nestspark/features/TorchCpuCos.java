package org.nestspark.features;

/**
 * The float32 cosine of PyTorch's vectorised CPU kernels, bit for bit: {@code Tensor.cos_()} on a float32
 * CPU tensor runs {@code Vectorized<float>::cos()}, which is SLEEF's {@code cosf_u10} (AVX2 and AVX-512
 * builds; both have FMA, and every lane computes the same thing), not the C library's correctly rounded
 * {@code cosf}. PyTorch 1.13 without MKL (Debian's build, and the one that wrote NeMo's golden data) takes
 * this path; its results differ from the correctly rounded cosine by one ulp for a few arguments, which is
 * why {@code torch.hann_window(400, periodic=False)} has 9 values that a correctly rounded cosine misses.
 *
 * <p>The algorithm (SLEEF 3.5, {@code xcosf_u1} for {@code |d| < 125}, with FMA): {@code q} = the odd integer
 * nearest {@code 2d/π}, reduction {@code s = d − q·π/2} in float-float arithmetic with π/2 split in three
 * parts, then an odd polynomial for {@code sin(s)} evaluated partly in float-float, and the sign flipped when
 * {@code q & 2 == 0}. Every step below is one float32 operation or one fused multiply-add, in SLEEF's order.
 * Only {@code |d| < 125} is implemented (SLEEF switches to a Payne–Hanek reduction beyond); the STFT windows
 * need arguments up to 4π.
 */
public final class TorchCpuCos {
  /** SLEEF's TRIGRANGEMAX2f: the largest |argument| of the reduction used here. */
  public static final float MAX_ARGUMENT = 125f;

  private static final float ONE_OVER_PI = (float) 0.318309886183790671538;
  private static final float PI_A2_HALF = 3.1414794921875f * -0.5f;
  private static final float PI_B2_HALF = 0.00011315941810607910156f * -0.5f;
  private static final float PI_C2_HALF = 1.9841872589410058936e-09f * -0.5f;

  private TorchCpuCos() {}

  /**
   * {@code cos(d)} as PyTorch's CPU kernels compute it in float32.
   *
   * @throws IllegalArgumentException for {@code |d| >= 125} or NaN
   */
  public static float cos(float d) {
    if (!(Math.abs(d) < MAX_ARGUMENT)) {
      throw new IllegalArgumentException(
          "cos argument " + d + " outside the implemented range |d| < " + MAX_ARGUMENT);
    }
    float dq = Math.fma((float) Math.rint(Math.fma(d, ONE_OVER_PI, -0.5f)), 2f, 1f);
    int q = (int) Math.rint(dq);
    // s = d - dq * pi/2 in float-float (dfadd2_vf2_vf_vf, then dfadd2_vf2_vf2_vf twice)
    float y = dq * PI_A2_HALF;
    float sx = d + y;
    float v = sx - d;
    float sy = (d - (sx - v)) + (y - v);
    float[] s = addFloatFloat(sx, sy, dq * PI_B2_HALF);
    s = addFloatFloat(s[0], s[1], dq * PI_C2_HALF);
    float tx = s[0];
    float ty = s[1];
    // s = t² (dfsqu_vf2_vf2 with FMA)
    float qx = tx * tx;
    float qy = Math.fma(tx + tx, ty, Math.fma(tx, tx, -qx));
    float u = 2.6083159809786593541503e-06f;
    u = Math.fma(u, qx, -0.0001981069071916863322258f);
    u = Math.fma(u, qx, 0.00833307858556509017944336f);
    // inner = -1/6 + u·s (dfadd_vf2_vf_vf)
    float a = -0.166666597127914428710938f;
    float b = u * qx;
    float ix = a + b;
    float iy = (a - ix) + b;
    // m = inner · s (dfmul_vf2_vf2_vf2 with FMA)
    float mx = ix * qx;
    float my = Math.fma(ix, qy, Math.fma(iy, qx, Math.fma(ix, qx, -mx)));
    // x = 1 + m (dfadd_vf2_vf_vf2)
    float xx = 1f + mx;
    float xy = ((1f - xx) + mx) + my;
    // u = t · x (dfmul_vf_vf2_vf2 with FMA)
    float r = Math.fma(tx, xx, Math.fma(ty, xx, tx * xy));
    return (q & 2) == 0 ? -r : r;
  }

  /** SLEEF's dfadd2_vf2_vf2_vf: the float-float (x, xy) plus the float y. */
  private static float[] addFloatFloat(float x, float xy, float y) {
    float s = x + y;
    float v = s - x;
    float t = (x - (s - v)) + (y - v);
    return new float[] {s, t + xy};
  }
}
