"""Outputs generated from a shape tree: the compiled dumper, Pydantic models, marshmallow schemas.

Each module reads `treeshape.tree.ShapeNode` and memoizes what it builds on the node; none
imports another backend.
"""
