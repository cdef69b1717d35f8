"""The small digit CNN of the study, with an optional attention block."""

from typing import Optional

import flax.linen as nn

from nets import attention
from nets import defaults as defaults_lib
from nets import layers


class AttentionCNN(nn.Module):
  """Conv32-pool-[block]-Conv64-pool-Dense128-Dropout-Dense(classes).

  `block` names an entry of attention.BLOCKS. Every block but self-attention
  sits on the 13x13x32 map after the first pool; self-attention (a token
  mixer that needs the smaller grid) sits on the 5x5x64 map after the second.
  With block=None and dropout 0.5 this is also the study's Table-2 classifier.
  attention_residual: self-attention's residual (SelfAttention2D.residual);
  channel_pool: CBAM's channel gate (attention.CHANNEL_POOLS). The defaults
  are the study's text; both fields leave the parameters unchanged.
  defaults: a nets.defaults name (initialisers, norm constants), as in every
  net here.
  """
  block: Optional[str] = None
  dropout: float = 0.3
  attention_residual: bool = False
  channel_pool: str = 'avg'
  num_classes: int = 10
  defaults: str = 'keras'

  @nn.compact
  def __call__(self, x_BxHxWxC, train: bool = False):
    # Checked for every block, so a mistyped value never passes unnoticed.
    attention.check_channel_pool(self.channel_pool)
    d = defaults_lib.get(self.defaults)
    pool = layers.pool2x2
    x = pool(nn.relu(d.conv(32, (3, 3), padding='VALID')(x_BxHxWxC)))
    if self.block == 'cbam':
      x = attention.CBAM(channel_pool=self.channel_pool,
                         defaults=self.defaults)(x)
    elif self.block and self.block != 'self_attention':
      x = attention.BLOCKS[self.block](defaults=self.defaults)(x)
    x = pool(nn.relu(d.conv(64, (3, 3), padding='VALID')(x)))
    if self.block == 'self_attention':
      x = attention.SelfAttention2D(residual=self.attention_residual,
                                    defaults=self.defaults)(x)
    x = x.reshape(x.shape[0], -1)
    x = nn.relu(d.dense(128)(x))
    x = nn.Dropout(self.dropout, deterministic=not train)(x)
    return d.dense(self.num_classes)(x)
