#!/usr/bin/env python3
"""Fetches a Prometheus text exposition and parses it with prometheus_client's parser (PyPI).

Usage: prometheus_parse.py URL
Prints one JSON object: {"status": HTTP status, "families": {name: type}, "samples": [{"name", "labels", "value"}]}.
Exits 1 with the parser's message if the text is not valid exposition, 2 if prometheus_client is missing.
"""

import json
import sys
import urllib.request

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    print("prometheus_client is not installed; run Deploy/scripts/setup.sh --test (it fills .venv-tools/)",
          file=sys.stderr)
    sys.exit(2)


def main():
    url = sys.argv[1]
    with urllib.request.urlopen(url, timeout=10) as response:
        status = response.status
        content_type = response.headers.get("Content-Type", "")
        text = response.read().decode("utf-8")
    families = {}
    samples = []
    try:
        for family in text_string_to_metric_families(text):
            families[family.name] = family.type
            for sample in family.samples:
                samples.append({"name": sample.name, "labels": sample.labels, "value": sample.value})
    except Exception as error:  # the parser raises ValueError and friends on bad input
        print(f"invalid exposition: {error}\n{text}", file=sys.stderr)
        sys.exit(1)
    print(json.dumps({"status": status, "content_type": content_type, "families": families, "samples": samples}))


if __name__ == "__main__":
    main()
