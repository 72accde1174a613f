"""Constants of the trnrand stream (docs/stream.md, version 1)."""

STREAM_VERSION = 1

PHILOX_M0 = 0xD2511F53
PHILOX_M1 = 0xCD9E8D57
PHILOX_W0 = 0x9E3779B9
PHILOX_W1 = 0xBB67AE85
PHILOX_ROUNDS = 10

MASK32 = 0xFFFFFFFF
TWO32 = 1 << 32
TWO64 = 1 << 64

# Counter word c3 of reserved blocks (c2 == 0, c3 != 0); see docs/stream.md (retries, spawning).
SPAWN_TAG = 0x5350574E  # "SPWN"
TORCH_GENERATOR_TAG = 0x5447454E  # "TGEN": seed of Generator.torch_generator
FOLD_TAG = 0x464F4C44  # "FOLD": Generator.fold_in (section 7.1)
