"""Expands a SAM template into plain CloudFormation, offline, for cfn-lint to check.

Usage: python sam_expand.py template.yaml > expanded.json
"""
import json
import os
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class NoManagedPolicies:
    """The template names no managed policies by name, so nothing needs looking up."""

    def load(self):
        return {}


def main(path):
    # The translator asks boto for a region; any will do offline.
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    with open(path, encoding="utf-8") as f:
        template = yaml_parse(f.read())
    # As `sam package` would: local code becomes an S3 object.
    for name, resource in template.get("Resources", {}).items():
        code = resource.get("Properties", {}).get("CodeUri")
        if isinstance(code, str) and not code.startswith("s3://"):
            resource["Properties"]["CodeUri"] = f"s3://packaged-code/{name}.zip"
    expanded = transform(template, {"AWS::Region": "us-east-1", "AWS::Partition": "aws"}, NoManagedPolicies())
    json.dump(expanded, sys.stdout, indent=1, default=str)


if __name__ == "__main__":
    main(sys.argv[1])
