"""Attention blocks shared by the MNIST (4A) and spectrogram (4B) CNNs.

Every block multiplies its input by a map in [0, 1] and `sow`s that map into
the 'intermediates' collection, so eval code reads it with
`apply(..., mutable=['intermediates'])` without a second forward definition.
"""

import flax.linen as nn
import jax.numpy as jnp

import errors
from nets import defaults as defaults_lib

# How the CBAM channel gate summarises each channel: 'avg' (the study: "Global
# average pooling summarizes spatial data", sections 5.2.2 and 6.2.2) or
# 'avg_max' (Woo et al.'s CBAM, avg and max pools through one shared MLP: what
# this codebase ran before issue 12).
CHANNEL_POOLS = ('avg', 'avg_max')


def check_channel_pool(pool):
  """A ConfigError naming the choices unless `pool` is one of CHANNEL_POOLS."""
  if pool not in CHANNEL_POOLS:
    raise errors.ConfigError(f'model.channel_pool={pool!r}: unknown; choices: '
                             f'{", ".join(CHANNEL_POOLS)}')


class SpatialGate(nn.Module):
  """A 1x1 conv + sigmoid map over positions (the study's `spatial` model)."""
  defaults: str = 'keras'

  @nn.compact
  def __call__(self, x_BxHxWxC):
    conv = defaults_lib.get(self.defaults).conv(1, (1, 1),
                                                dtype=x_BxHxWxC.dtype)
    m_BxHxWx1 = nn.sigmoid(conv(x_BxHxWxC))
    self.sow('intermediates', 'spatial_map', m_BxHxWx1)
    return x_BxHxWxC * m_BxHxWx1


class ChannelAttention(nn.Module):
  """CBAM channel gate: sigmoid(MLP(avgpool)), or with pool='avg_max'
  sigmoid(MLP(avgpool) + MLP(maxpool)) with the MLP shared.

  Both pools use the same two Dense layers, so the parameters (and a
  checkpoint) are the same for either.
  """
  reduction: int = 8
  pool: str = 'avg'  # one of CHANNEL_POOLS
  defaults: str = 'keras'

  @nn.compact
  def __call__(self, x_BxHxWxC):
    check_channel_pool(self.pool)
    d = defaults_lib.get(self.defaults)
    c = x_BxHxWxC.shape[-1]
    hidden = d.dense(max(c // self.reduction, 1), dtype=x_BxHxWxC.dtype)
    out = d.dense(c, dtype=x_BxHxWxC.dtype)
    mlp = lambda v: out(nn.relu(hidden(v)))
    logits_BxC = mlp(jnp.mean(x_BxHxWxC, axis=(1, 2)))
    if self.pool == 'avg_max':
      logits_BxC = logits_BxC + mlp(jnp.max(x_BxHxWxC, axis=(1, 2)))
    w_BxC = nn.sigmoid(logits_BxC)
    self.sow('intermediates', 'channel_weights', w_BxC)
    return x_BxHxWxC * w_BxC[:, None, None, :]


class CBAMSpatial(nn.Module):
  """CBAM spatial gate: sigmoid(conv7x7([mean; max] over channels))."""
  kernel_size: int = 7
  defaults: str = 'keras'

  @nn.compact
  def __call__(self, x_BxHxWxC):
    pooled = jnp.concatenate([jnp.mean(x_BxHxWxC, -1, keepdims=True),
                              jnp.max(x_BxHxWxC, -1, keepdims=True)], -1)
    k = self.kernel_size
    conv = defaults_lib.get(self.defaults).conv(1, (k, k),
                                                dtype=x_BxHxWxC.dtype)
    m_BxHxWx1 = nn.sigmoid(conv(pooled))
    self.sow('intermediates', 'cbam_spatial_map', m_BxHxWx1)
    return x_BxHxWxC * m_BxHxWx1


class CBAM(nn.Module):
  """Convolutional Block Attention Module (Woo et al. 2018): channel, spatial."""
  reduction: int = 8
  channel_pool: str = 'avg'  # the channel gate's pool (CHANNEL_POOLS)
  defaults: str = 'keras'

  @nn.compact
  def __call__(self, x):
    x = ChannelAttention(self.reduction, self.channel_pool,
                         defaults=self.defaults)(x)
    return CBAMSpatial(defaults=self.defaults)(x)


class SqueezeExcite(nn.Module):
  """SE block: GAP -> Dense(C/r, ReLU) -> Dense(C, sigmoid) -> scale."""
  reduction: int = 8
  defaults: str = 'keras'

  @nn.compact
  def __call__(self, x_BxHxWxC):
    d = defaults_lib.get(self.defaults)
    c = x_BxHxWxC.shape[-1]
    s_BxC = jnp.mean(x_BxHxWxC, axis=(1, 2))
    s_BxC = nn.relu(d.dense(max(c // self.reduction, 1),
                            dtype=s_BxC.dtype)(s_BxC))
    w_BxC = nn.sigmoid(d.dense(c, dtype=s_BxC.dtype)(s_BxC))
    self.sow('intermediates', 'channel_weights', w_BxC)
    return x_BxHxWxC * w_BxC[:, None, None, :]


class SelfAttention2D(nn.Module):
  """Multi-head self-attention over the HxW grid, then LayerNorm.

  As the study's Table 8 has it: "Reshape to (25, 64) -> MultiHeadAttention(4
  heads, key dim=64) -> LayerNormalization", so the block's output is
  LayerNorm(attention(x)). residual=True is this codebase's earlier block,
  LayerNorm(x + attention(x)) (post-norm, as in the original Transformer),
  which keeps the conv features reachable while attention is still near
  uniform early in training. The attention weights [B, heads, HW, HW] are sown
  by Flax's MHA under 'intermediates/.../attention_weights'.
  """
  num_heads: int = 4
  key_dim: int = 64
  residual: bool = False
  defaults: str = 'keras'

  @nn.compact
  def __call__(self, x_BxHxWxC):
    d = defaults_lib.get(self.defaults)
    b, h, w, c = x_BxHxWxC.shape
    heads, k = self.num_heads, self.key_dim
    t_BxTxC = x_BxHxWxC.reshape(b, h * w, c)
    attn = nn.MultiHeadDotProductAttention(
        num_heads=heads, qkv_features=heads * k, out_features=c,
        dtype=x_BxHxWxC.dtype, kernel_init=d.einsum_kernel_init((c, heads, k)),
        out_kernel_init=d.einsum_kernel_init((heads, k, c)),
        bias_init=d.bias_init, name='mha')
    a_BxTxC = attn(t_BxTxC, sow_weights=True)
    if self.residual:
      a_BxTxC = t_BxTxC + a_BxTxC
    t_BxTxC = d.layer_norm(dtype=x_BxHxWxC.dtype)(a_BxTxC)
    return t_BxTxC.reshape(b, h, w, c)


BLOCKS = {
    'spatial': SpatialGate,
    'cbam': CBAM,
    'se': SqueezeExcite,
    'self_attention': SelfAttention2D,
}
