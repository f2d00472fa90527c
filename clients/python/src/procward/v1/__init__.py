"""procward's wire contract, version 1.

The modules here are generated from the repository's ``proto/procward/v1/*.proto`` by
grpcio-tools when the package is built (see ``setup.py``); they are never committed:

- ``process_manager_pb2`` / ``process_manager_pb2_grpc``: ``ProcessManagerService``
- ``supervisor_pb2`` / ``supervisor_pb2_grpc``: ``Supervisor``
- ``ports_pb2`` / ``ports_pb2_grpc``: ``Ports``
- ``queue_pb2`` / ``queue_pb2_grpc``: ``Queue`` (the job queue; imports ``supervisor_pb2``)
"""
