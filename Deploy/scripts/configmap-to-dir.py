#!/usr/bin/env python3
"""Lays out a ConfigMap's files as the StatefulSet's pods see them, so `persona-bridge check` can run on them.

    configmap-to-dir.py CONFIGMAP.yaml STATEFULSET.yaml OUTDIR
    persona-bridge check --config OUTDIR/bridge.toml

Each `items` entry of the StatefulSet's configMap volume that names this ConfigMap writes its key
to OUTDIR/path (without items, every key becomes OUTDIR/key). Needs PyYAML (kubernetes-validate
brings it; Deploy/scripts/setup.sh --test installs both into .venv-tools).
"""
import os
import sys

import yaml


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    configmap_path, statefulset_path, out = sys.argv[1:]
    with open(configmap_path) as handle:
        configmap = next(doc for doc in yaml.safe_load_all(handle) if doc and doc.get("kind") == "ConfigMap")
    with open(statefulset_path) as handle:
        statefulset = next(doc for doc in yaml.safe_load_all(handle) if doc and doc.get("kind") == "StatefulSet")
    name = configmap["metadata"]["name"]
    data = configmap.get("data", {})
    volumes = statefulset["spec"]["template"]["spec"].get("volumes", [])
    volume = next((v for v in volumes if v.get("configMap", {}).get("name") == name), None)
    if volume is None:
        sys.exit(f"{statefulset_path}: no volume mounts ConfigMap {name}")
    items = volume["configMap"].get("items") or [{"key": key, "path": key} for key in data]
    for item in items:
        if item["key"] not in data:
            sys.exit(f"{statefulset_path}: item key {item['key']} is not in ConfigMap {name}")
        target = os.path.join(out, item["path"])
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "w") as handle:
            handle.write(data[item["key"]])
        print(target)


if __name__ == "__main__":
    main()
