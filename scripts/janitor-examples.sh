#!/usr/bin/env bash
# The console examples of docs/janitor.md, from real runs: kubetally janitor and the real kubectl against the
# Kubernetes API test server (tests/kubeapi). Usage: scripts/janitor-examples.sh deletions|offhours > out.txt
set -u
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d)
export PATH="$root/.venv/bin:$PATH" COLUMNS="${COLUMNS:-100}" KUBECONFIG="$work/kubeconfig"
serve() {  # $1: python that builds the objects
  PYTHONPATH="$root/tests:$root/tests/kubeapi" python - "$work/kubeconfig" >"$work/url" <<PY &
import sys, time
from pathlib import Path
from kubeapi.server import KubeAPIServer
$1
with KubeAPIServer(objects) as api:
    api.write_kubeconfig(Path(sys.argv[1]))
    print(api.url, flush=True)
    while True:
        time.sleep(60)
PY
  server=$!
  trap 'kill $server; rm -rf "$work"' EXIT
  for _ in $(seq 100); do [ -s "$work/kubeconfig" ] && break; sleep 0.1; done
}
run() {
  echo "\$ $*" | sed 's/\\\\/\\/g'
  eval "$@" 2>&1
  rc=$?
  [ $rc -ne 0 ] && echo "(exit code $rc)"
  echo
}
cd "$work"
case "${1:-deletions}" in
deletions)
  serve "from test_janitor import cluster; objects = cluster()"
  run "kubectl get configmaps -A -o custom-columns=NAMESPACE:.metadata.namespace,NAME:.metadata.name,TTL:.metadata.annotations.janitor/ttl,EXPIRES:.metadata.annotations.janitor/expires,PROTECT:.metadata.annotations.kubetally\\\\.io/protect"
  run kubetally janitor
  run kubetally janitor --yes --max-deletions 2
  run kubetally janitor --yes
  run tail -n 2 kubetally-janitor.jsonl
  run "kubectl get events -n scratch -o custom-columns=REASON:.reason,OBJECT:.involvedObject.name,MESSAGE:.message"
  run kubetally janitor --selector ci-run=1234 --yes
  run kubectl get namespaces
  ;;
offhours)
  serve "from kubetally.simulate import ScenarioConfig, simulate
from kubetally.simulate.k8s import cluster_objects
objects = cluster_objects(simulate(ScenarioConfig(days=1)))"
  deploys="kubectl get deployments -n auditflow-dev -o custom-columns=NAME:.metadata.name,REPLICAS:.spec.replicas,UPTIME:.metadata.annotations.downscaler/uptime,ORIGINAL:.metadata.annotations.downscaler/original-replicas"
  run "kubetally scale --demo -o json > offhours.json"
  run kubetally janitor --offhours offhours.json
  run kubetally janitor --offhours offhours.json --yes
  run "$deploys"
  run kubetally janitor --downscale --now 2026-12-12T11:00:00Z
  run kubetally janitor --downscale --now 2026-12-12T11:00:00Z --yes
  run "$deploys"
  run kubetally janitor --downscale --now 2026-12-14T09:00:00Z --yes
  run "$deploys"
  run "kubectl get events -n auditflow-dev -o custom-columns=REASON:.reason,OBJECT:.involvedObject.name,MESSAGE:.message"
  ;;
esac
