"""Column names of every Dataset frame, in one place.

Names carry their unit (``_cores``, ``_bytes``, ``_bytes_per_second``, ``_ratio``).
Analyses import these constants instead of writing bare strings.
"""

from typing import Final

# identity
CLUSTER: Final = "cluster"
NAMESPACE: Final = "namespace"
POD: Final = "pod"
POD_UID: Final = "pod_uid"
CONTAINER: Final = "container"
INIT_CONTAINER: Final = "init_container"
NODE: Final = "node"
OWNER_KIND: Final = "owner_kind"
OWNER_NAME: Final = "owner_name"
IMAGE: Final = "image"
TIMESTAMP: Final = "timestamp"

# resources declared
CPU_REQUEST_CORES: Final = "cpu_request_cores"
CPU_LIMIT_CORES: Final = "cpu_limit_cores"
MEMORY_REQUEST_BYTES: Final = "memory_request_bytes"
MEMORY_LIMIT_BYTES: Final = "memory_limit_bytes"
QOS_CLASS: Final = "qos_class"

# lifecycle
START_TIME: Final = "start_time"
END_TIME: Final = "end_time"
RESTARTS: Final = "restarts"
LAST_TERMINATION_REASON: Final = "last_termination_reason"
REASON: Final = "reason"
EXIT_CODE: Final = "exit_code"

# usage series
CPU_USAGE_CORES: Final = "cpu_usage_cores"
MEMORY_WORKING_SET_BYTES: Final = "memory_working_set_bytes"
MEMORY_RSS_BYTES: Final = "memory_rss_bytes"
FS_READ_BYTES_PER_SECOND: Final = "fs_read_bytes_per_second"
FS_WRITE_BYTES_PER_SECOND: Final = "fs_write_bytes_per_second"
CPU_THROTTLED_RATIO: Final = "cpu_throttled_ratio"
NETWORK_RECEIVE_BYTES_PER_SECOND: Final = "network_receive_bytes_per_second"
NETWORK_TRANSMIT_BYTES_PER_SECOND: Final = "network_transmit_bytes_per_second"
MEMORY_USED_BYTES: Final = "memory_used_bytes"
LOG_BYTES: Final = "log_bytes"

# workloads
KIND: Final = "kind"
NAME: Final = "name"
DESIRED_REPLICAS: Final = "desired_replicas"
HPA_MIN_REPLICAS: Final = "hpa_min_replicas"
HPA_MAX_REPLICAS: Final = "hpa_max_replicas"
HPA_TARGET_CPU_UTILIZATION: Final = "hpa_target_cpu_utilization"
CREATED_AT: Final = "created_at"

# nodes
INSTANCE_TYPE: Final = "instance_type"
ARCH: Final = "arch"
ROLE: Final = "role"
CPU_CAPACITY_CORES: Final = "cpu_capacity_cores"
CPU_ALLOCATABLE_CORES: Final = "cpu_allocatable_cores"
MEMORY_CAPACITY_BYTES: Final = "memory_capacity_bytes"
MEMORY_ALLOCATABLE_BYTES: Final = "memory_allocatable_bytes"
PODS_CAPACITY: Final = "pods_capacity"
PODS_ALLOCATABLE: Final = "pods_allocatable"

# labels (long format)
OBJECT_KIND: Final = "object_kind"
KEY: Final = "key"
VALUE: Final = "value"

# volumes
PVC: Final = "pvc"
PV: Final = "pv"
STORAGE_CLASS: Final = "storage_class"
CAPACITY_BYTES: Final = "capacity_bytes"
PVC_PHASE: Final = "pvc_phase"
PV_PHASE: Final = "pv_phase"
RECLAIM_POLICY: Final = "reclaim_policy"
USED_BYTES: Final = "used_bytes"

# objects and references
ENDPOINTS: Final = "endpoints"
STATUS: Final = "status"
FINISHED_AT: Final = "finished_at"
FROM_KIND: Final = "from_kind"
FROM_NAME: Final = "from_name"
TO_KIND: Final = "to_kind"
TO_NAME: Final = "to_name"

# databases
DATABASE: Final = "database"
TABLE: Final = "table"
SIZE_BYTES: Final = "size_bytes"
ROWS: Final = "rows"

# right-sizing recommendations (frame: kubetally.model.recommendation.RECOMMENDATIONS)
STRATEGY: Final = "strategy"
TIER: Final = "tier"
REPLICAS: Final = "replicas"
PODS: Final = "pods"
CURRENT_CPU_REQUEST_CORES: Final = "current_cpu_request_cores"
CURRENT_CPU_LIMIT_CORES: Final = "current_cpu_limit_cores"
CURRENT_MEMORY_REQUEST_BYTES: Final = "current_memory_request_bytes"
CURRENT_MEMORY_LIMIT_BYTES: Final = "current_memory_limit_bytes"
RECOMMENDED_CPU_REQUEST_CORES: Final = "recommended_cpu_request_cores"
RECOMMENDED_CPU_LIMIT_CORES: Final = "recommended_cpu_limit_cores"
RECOMMENDED_MEMORY_REQUEST_BYTES: Final = "recommended_memory_request_bytes"
RECOMMENDED_MEMORY_LIMIT_BYTES: Final = "recommended_memory_limit_bytes"
CPU_REQUEST_CHANGE_CORES: Final = "cpu_request_change_cores"
MEMORY_REQUEST_CHANGE_BYTES: Final = "memory_request_change_bytes"
CPU_SAVING_CORES: Final = "cpu_saving_cores"
MEMORY_SAVING_BYTES: Final = "memory_saving_bytes"
CPU_STATUS: Final = "cpu_status"
MEMORY_STATUS: Final = "memory_status"
DATA_POINTS: Final = "data_points"
HISTORY_HOURS: Final = "history_hours"
OOM_KILLS: Final = "oom_kills"
MEMORY_PEAK_BYTES: Final = "memory_peak_bytes"
MEMORY_PEAK_LIMIT_RATIO: Final = "memory_peak_limit_ratio"
CPU_USAGE_P95_CORES: Final = "cpu_usage_p95_cores"
EVIDENCE: Final = "evidence"
