"""The descriptor pool our generated gRPC modules register in (see scripts/gen_protos.py).

tritonclient registers the same `inference.*` symbols in protobuf's default pool; two copies in
one pool fail with "duplicate symbol". Ours live here, and server reflection reads this pool, so
the health and reflection services' own descriptors are added to it as well.
"""

from google.protobuf import descriptor_pool

POOL = descriptor_pool.DescriptorPool()
