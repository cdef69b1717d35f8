"""MLPs and autoencoders of the FSDD MFCC study (Problem 1), and the scanned
utterance embedding of Approach B."""

import functools
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from nets import defaults as defaults_lib


class MLP(nn.Module):
  """Dense(f)-[BatchNorm]-ReLU-[Dropout] for f in `features`, then Dense(out).

  Baseline: features (256, 128, 64, 32), dropout 0.3. Approach B's improved
  MLP: (512, 256, 128, 64), batch_norm, dropout 0.2. The merger of Approach B
  is a one-hidden-layer MLP with a 32-D (linear) output.
  """
  features: Sequence[int] = (256, 128, 64, 32)
  dropout: float = 0.0
  batch_norm: bool = False
  num_classes: int = 10
  defaults: str = 'keras'

  @nn.compact
  def __call__(self, x, train: bool = False):
    d = defaults_lib.get(self.defaults)
    for f in self.features:
      x = d.dense(f)(x)
      if self.batch_norm:
        x = d.batch_norm(not train)(x)
      x = nn.relu(x)
      if self.dropout:
        x = nn.Dropout(self.dropout, deterministic=not train)(x)
    return d.dense(self.num_classes)(x)


class Encoder(nn.Module):
  """Dense(hidden)-ReLU-Dense(bottleneck): the code is linear."""
  hidden: int = 256
  bottleneck: int = 50
  defaults: str = 'keras'

  @nn.compact
  def __call__(self, x):
    d = defaults_lib.get(self.defaults)
    h = nn.relu(d.dense(self.hidden)(x))
    return d.dense(self.bottleneck)(h)


class Autoencoder(nn.Module):
  """Encoder, then Dense(hidden)-ReLU-Dense(input size), linear output.

  Approach A: hidden 256, bottleneck d on flattened utterances. Approach B's
  two-frame autoencoder: hidden 128, bottleneck 32 on 26-D frame pairs.
  """
  hidden: int = 256
  bottleneck: int = 50
  defaults: str = 'keras'

  @nn.compact
  def __call__(self, x, train: bool = False):
    del train
    d = defaults_lib.get(self.defaults)
    z = Encoder(self.hidden, self.bottleneck, self.defaults, name='encoder')(x)
    return d.dense(x.shape[-1])(nn.relu(d.dense(self.hidden)(z)))

  def encode(self, params, x):
    """The codes of `x` under trained autoencoder `params`."""
    # parent=None: a free-standing copy of the encoder, not a submodule.
    return Encoder(self.hidden, self.bottleneck, self.defaults,
                   parent=None).apply({'params': params['encoder']}, x)


def utterance_embedding(ae, ae_params, merger, merger_params, frames_TxF,
                        length):
  """Encodes frames (0, 1), then merges frames 2..length-1 in order.

  frames_TxF is padded past `length` (with anything); the scan runs over all
  T - 2 padded steps and keeps the state unchanged on masked ones, so one
  compiled function serves every length. With length < 2 frame 0 stands for
  frame 1.
  """
  second = jnp.where(length >= 2, frames_TxF[min(1, frames_TxF.shape[0] - 1)],
                     frames_TxF[0])
  h = ae.encode(ae_params, jnp.concatenate([frames_TxF[0], second]))

  def step(h, t_and_frame):
    t, frame = t_and_frame
    merged = merger.apply({'params': merger_params},
                          jnp.concatenate([h, frame]), train=False)
    return jnp.where(t < length, merged, h), None

  steps = jnp.arange(2, frames_TxF.shape[0])
  h, _ = jax.lax.scan(step, h, (steps, frames_TxF[2:]))
  return h


@functools.partial(jax.jit, static_argnums=(0, 2))
def embed_utterances(ae, ae_params, merger, merger_params, frames_NxTxF,
                     lengths_N):
  """[N, bottleneck] embeddings: `utterance_embedding` vmapped over N."""
  return jax.vmap(utterance_embedding, in_axes=(None, None, None, None, 0, 0))(
      ae, ae_params, merger, merger_params, frames_NxTxF, lengths_N)
