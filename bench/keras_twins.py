"""Keras twins of the project's benchmark workloads, for bench/compare.py.

.venv-keras/bin/python bench/keras_twins.py --workload=gan --steps=5 --repeats=1
Runs under the Keras venv only (install: python -m venv .venv-keras &&
.venv-keras/bin/pip install -r bench/requirements-keras.txt); it imports no
project module, the venv has TensorFlow and no JAX. Each model has the layer
sizes and parameter count of its Flax twin (bench/jax_twins.py), written the
way a Keras notebook would write it: `tf.function(jit_compile=False)` custom
train steps, or `model.fit` for the epoch workloads, on random data of the
workload's shape, timed after a warm-up call has traced the functions.
Prints one JSON line: {"workload", "images_per_s", "params" (trainable),
"state" (non-trainable: BatchNorm statistics), "tf", "keras"}; images/s is
the best of --repeats measurements.
"""

import os
import time

os.environ.setdefault('KERAS_BACKEND', 'tensorflow')
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

# pylint: disable=g-import-not-at-top,wrong-import-position
import keras
from keras import layers
import numpy as np
import tensorflow as tf
# Run as a script from the venv: bench/ itself is on sys.path.
import twin_cli
# pylint: enable=g-import-not-at-top,wrong-import-position



def attention_cnn(block=None, dropout=0.3):
  """nets.cnn.AttentionCNN: Conv32-pool-[SE]-Conv64-pool-Dense128-Dropout-
  Dense10.

  With block=None and dropout 0.5 it is the study's Table-2 CNN.
  """
  x_in = keras.Input((28, 28, 1))
  x = layers.MaxPooling2D(2)(layers.Conv2D(32, 3, activation='relu')(x_in))
  if block == 'se':
    s = layers.GlobalAveragePooling2D()(x)
    s = layers.Dense(32 // 8, activation='relu')(s)
    s = layers.Dense(32, activation='sigmoid')(s)
    x = layers.Multiply()([x, layers.Reshape((1, 1, 32))(s)])
  elif block:
    raise ValueError(f'block={block!r}: choices: None, se')
  x = layers.MaxPooling2D(2)(layers.Conv2D(64, 3, activation='relu')(x))
  x = layers.Dense(128, activation='relu')(layers.Flatten()(x))
  x = layers.Dropout(dropout)(x)
  return keras.Model(x_in, layers.Dense(10)(x))


def _cbam(x, reduction=8):
  """nets.attention.CBAM: channel gate (shared MLP on avg and max), then a
  7x7 spatial gate on [mean; max] over channels."""
  c = x.shape[-1]
  hidden = layers.Dense(max(c // reduction, 1), activation='relu')
  out = layers.Dense(c)
  w = layers.Add()([out(hidden(layers.GlobalAveragePooling2D()(x))),
                    out(hidden(layers.GlobalMaxPooling2D()(x)))])
  w = layers.Reshape((1, 1, c))(layers.Activation('sigmoid')(w))
  x = layers.Multiply()([x, w])
  pooled = layers.Concatenate()([keras.ops.mean(x, axis=-1, keepdims=True),
                                 keras.ops.max(x, axis=-1, keepdims=True)])
  m = layers.Conv2D(1, 7, padding='same', activation='sigmoid')(pooled)
  return layers.Multiply()([x, m])


def lenet_cbam():
  """nets.lenet.LeNet(block='cbam'): per conv, Conv-BN-CBAM-AvgPool; then
  Dense 120-84-10. (Its dropouts are 0 and its noise is off.)"""
  x_in = keras.Input((128, 128, 3))
  x = x_in
  for features in (6, 16):
    x = layers.Conv2D(features, 5, activation='relu')(x)
    # Flax's BatchNorm epsilon; Keras' default is 1e-3.
    x = _cbam(layers.BatchNormalization(epsilon=1e-5)(x))
    x = layers.AveragePooling2D(2)(x)
  x = layers.Flatten()(x)
  for features in (120, 84):
    x = layers.Dense(features, activation='relu')(x)
  return keras.Model(x_in, layers.Dense(10)(x))


def _batch_norm(**kwargs):
  # The generator's settings in nets.gan (Flax momentum 0.9 means the same).
  return layers.BatchNormalization(momentum=0.9, epsilon=1e-5, **kwargs)


def generator(z_dim=100, embed_dim=50, features=(256, 128, 64), dropout=0.3):
  """Table 4 / nets.gan.Generator: label embedding ++ z, FC-BN-ReLU-Dropout,
  two ConvT(5x5, 2) each with class-conditional BN, Conv(1, 5x5), tanh."""
  z_in = keras.Input((z_dim,))
  y_in = keras.Input((), dtype='int32')
  f0, f1, f2 = features
  h = layers.Concatenate()([z_in, layers.Embedding(10, embed_dim)(y_in)])
  h = layers.Dense(7 * 7 * f0, use_bias=False)(h)
  h = layers.Dropout(dropout)(layers.ReLU()(_batch_norm()(h)))
  h = layers.Reshape((7, 7, f0))(h)
  for f in (f1, f2):
    h = layers.Conv2DTranspose(f, 5, strides=2, padding='same')(h)
    # Conditional BN: plain statistics, a per-class scale and shift.
    h = _batch_norm(center=False, scale=False)(h)
    scale = layers.Embedding(10, f, embeddings_initializer='ones')(y_in)
    shift = layers.Embedding(10, f, embeddings_initializer='zeros')(y_in)
    h = layers.Add()([layers.Multiply()([h, layers.Reshape((1, 1, f))(scale)]),
                      layers.Reshape((1, 1, f))(shift)])
    h = layers.Dropout(dropout)(layers.ReLU()(h))
  out = layers.Conv2D(1, 5, padding='same', activation='tanh')(h)
  return keras.Model([z_in, y_in], out)


def discriminator(embed_dim=50, features=(64, 128, 256), dropout=0.3):
  """Table 4 / nets.gan.Discriminator: three Conv(5x5, 2)-LeakyReLU-Dropout,
  flatten, concatenate a label embedding, FC(1) logit."""
  x_in = keras.Input((28, 28, 1))
  y_in = keras.Input((), dtype='int32')
  h = x_in
  for f in features:
    h = layers.Conv2D(f, 5, strides=2, padding='same')(h)
    h = layers.Dropout(dropout)(layers.LeakyReLU(negative_slope=0.2)(h))
  h = layers.Concatenate()([layers.Flatten()(h),
                            layers.Embedding(10, embed_dim)(y_in)])
  return keras.Model([x_in, y_in], layers.Dense(1)(h))


def aux_classifier(pad_value=-1.0):
  """Table 4's classifier as nets.mobilenet.MobileNetV2 (width 1) feeds it:
  grayscale replicated to 3 channels, padded to 32x32 with the background
  value, keras.applications' MobileNetV2 base, GAP-Dense512-Dropout-Dense10."""
  x_in = keras.Input((28, 28, 1))
  x = keras.ops.pad(keras.ops.repeat(x_in, 3, axis=-1),
                    ((0, 0), (2, 2), (2, 2), (0, 0)), constant_values=pad_value)
  base = keras.applications.MobileNetV2(
      input_shape=(32, 32, 3), alpha=1.0, include_top=False, weights=None)
  x = layers.GlobalAveragePooling2D()(base(x))
  x = layers.Dropout(0.5)(layers.Dense(512, activation='relu')(x))
  return keras.Model(x_in, layers.Dense(10)(x))


def count(models):
  """(trainable, non-trainable) parameters of `models`."""
  n = lambda ws: sum(int(np.prod(w.shape)) for w in ws)
  return (sum(n(m.trainable_weights) for m in models),
          sum(n(m.non_trainable_weights) for m in models))


def _adam(model, learning_rate=1e-3, **kwargs):
  """Keras' Adam, its variables built outside the tf.function."""
  opt = keras.optimizers.Adam(learning_rate, epsilon=1e-7, **kwargs)
  opt.build(model.trainable_variables)
  return opt


def _apply(opt, tape, loss, model):
  variables = model.trainable_variables
  opt.apply_gradients(zip(tape.gradient(loss, variables), variables))


def _best_seconds(run, repeats):
  best = float('inf')
  for _ in range(repeats):
    t0 = time.perf_counter()
    run()
    best = min(best, time.perf_counter() - t0)
  return best


def _time_steps(step, args_per_step, repeats):
  """Best seconds for one pass over args_per_step, after a warm-up call."""
  step(*args_per_step[0]).numpy()

  def run():
    for args in args_per_step:
      out = step(*args)
    out.numpy()
  return _best_seconds(run, repeats)


def gan(steps, repeats, with_aux=True, batch_size=128, z_dim=100,
        aux_weight=0.1):
  """train.gan.train_step: a D step on [real; fake], a G step through the
  updated D (+ aux_weight * CE of the classifier in inference mode) and a
  classifier step on the real batch; images/s counts the real batch."""
  g, d = generator(z_dim), discriminator()
  a = aux_classifier() if with_aux else None
  g_opt, d_opt = _adam(g, 2e-4, beta_1=0.5), _adam(d, 2e-4, beta_1=0.5)
  a_opt = _adam(a) if with_aux else None
  bce = keras.losses.BinaryCrossentropy(from_logits=True)
  ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
  rng = np.random.default_rng(0)
  x_all = tf.constant(rng.uniform(-1, 1, (1024, 28, 28, 1)).astype(np.float32))
  y_all = tf.constant(rng.integers(0, 10, 1024).astype(np.int32))

  @tf.function(jit_compile=False)
  def step(idx):
    x, y = tf.gather(x_all, idx), tf.gather(y_all, idx)
    b = tf.shape(idx)[0]
    z = tf.random.normal((b, z_dim))
    y_fake = tf.random.uniform((b,), 0, 10, tf.int32)
    with tf.GradientTape() as g_tape:
      # The generator runs forward once; its tape ignores the D step.
      fake = g([z, y_fake], training=True)
      with g_tape.stop_recording():
        with tf.GradientTape() as d_tape:
          logits = d([tf.concat([x, fake], 0), tf.concat([y, y_fake], 0)],
                     training=True)
          d_loss = (bce(tf.ones_like(logits[:b]), logits[:b]) +
                    bce(tf.zeros_like(logits[b:]), logits[b:]))
        _apply(d_opt, d_tape, d_loss, d)
      logits = d([fake, y_fake], training=True)
      g_loss = bce(tf.ones_like(logits), logits)
      if with_aux:
        g_loss += aux_weight * ce(y_fake, a(fake, training=False))
    _apply(g_opt, g_tape, g_loss, g)
    if with_aux:
      with tf.GradientTape() as a_tape:
        a_loss = ce(y, a(x, training=True))
      _apply(a_opt, a_tape, a_loss, a)
    return g_loss

  idx = tf.range(batch_size)
  seconds = _time_steps(step, [(idx,)] * steps, repeats)
  return steps * batch_size / seconds, count([m for m in (g, d, a) if m])


def train_steps(model, steps, repeats, input_shape, batch_size, n,
                learning_rate=1e-3, **adam_kwargs):
  """trainer.train_step as bench.common times it: `steps` custom steps on
  random batches gathered from n on-device images."""
  opt = _adam(model, learning_rate, **adam_kwargs)
  ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
  rng = np.random.default_rng(0)
  x_all = tf.constant(rng.random((n, *input_shape), np.float32))
  y_all = tf.constant(rng.integers(0, 10, n).astype(np.int32))

  @tf.function(jit_compile=False)
  def step(idx):
    with tf.GradientTape() as tape:
      loss = ce(tf.gather(y_all, idx),
                model(tf.gather(x_all, idx), training=True))
    _apply(opt, tape, loss, model)
    return loss

  idx = [(tf.constant(rng.permutation(n)[:batch_size].astype(np.int32)),)
         for _ in range(steps)]
  seconds = _time_steps(step, idx, repeats)
  return steps * batch_size / seconds, count([model])


class _EpochTimes(keras.callbacks.Callback):
  """Seconds of each epoch, its validation included (as fit's epoch_time_s)."""

  def __init__(self):
    super().__init__()
    self.times = []

  def on_epoch_begin(self, epoch, logs=None):
    self._t0 = time.perf_counter()

  def on_epoch_end(self, epoch, logs=None):
    self.times.append(time.perf_counter() - self._t0)


def _mnist_like(seed, n):
  rng = np.random.default_rng(seed)
  return (rng.random((n, 28, 28, 1), np.float32),
          rng.integers(0, 10, n).astype(np.int32))


def fit_seconds(build, epochs, repeats, seed=4, n_train=5000, n_val=1000):
  """(best seconds of `epochs` model.fit epochs with per-epoch validation,
  the model): the Table-10 protocol, batch 32, after a warm-up fit."""
  keras.utils.set_random_seed(seed)
  model = build()
  model.compile(optimizer=keras.optimizers.Adam(1e-3, epsilon=1e-7),
                loss=keras.losses.SparseCategoricalCrossentropy(
                    from_logits=True),
                metrics=['accuracy'], jit_compile=False)
  x, y = _mnist_like(seed, n_train)
  x_val, y_val = _mnist_like(seed + 1, n_val)
  # A full and a partial batch, to trace the train and test functions.
  model.fit(x[:40], y[:40], batch_size=32, epochs=1,
            validation_data=(x_val[:40], y_val[:40]), verbose=0)
  best = float('inf')
  for _ in range(repeats):
    timer = _EpochTimes()
    model.fit(x, y, batch_size=32, epochs=epochs,
              validation_data=(x_val, y_val), verbose=0, callbacks=[timer])
    best = min(best, sum(timer.times))
  return best, model


def fit_workload(build, epochs, repeats, seeds=1):
  """Images/s of `seeds` sequential 5000-image runs (5000 x epochs each)."""
  total = 0.0
  for seed in range(4, 4 + seeds):
    seconds, model = fit_seconds(build, epochs, repeats, seed)
    total += seconds
  return seeds * epochs * 5000 / total, count([model])


WORKLOADS = {
    'gan': gan,
    'gan_gd': lambda s, r: gan(s, r, with_aux=False),
    'attention_base': lambda s, r: fit_workload(attention_cnn, s, r),
    'attention_se': lambda s, r: fit_workload(
        lambda: attention_cnn('se'), s, r),
    'cnn_table2': lambda s, r: train_steps(
        attention_cnn(dropout=0.5), s, r, (28, 28, 1), 32, 5000),
    # configs/spectrogram_cnn.py: Adam 1e-4, gradients clipped to global norm 1.
    'lenet_cbam': lambda s, r: train_steps(
        lenet_cbam(), s, r, (128, 128, 3), 16, 480, 1e-4, global_clipnorm=1.0),
    'seeds5': lambda s, r: fit_workload(attention_cnn, s, r, seeds=5),
}


if __name__ == '__main__':
  twin_cli.run(WORKLOADS, {'tf': tf.__version__, 'keras': keras.__version__})
