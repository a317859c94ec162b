"""Pool scoring on Dask distributed (``pip install 'labelwise[distributed]'``): partitioned
pools, models cached on the workers by version, row-wise selection merged exactly, and
joint strategies by per-partition candidates then a merge (see ``docs/distributed.md``)."""

from labelwise.distributed.partitioned import PartitionedPool
from labelwise.distributed.pool_scoring import compute_outputs_distributed, score_pool_distributed
from labelwise.distributed.scorer import ClusterScorer, as_client

__all__ = ["ClusterScorer", "PartitionedPool", "as_client", "compute_outputs_distributed",
           "score_pool_distributed"]
