"""Stage 5: the HTTP service and web page (``selfsim serve``).

A thin layer over the library: :class:`~selfsim.serve.service.Service` holds the
index, the encoder and the matcher once and does the work; :mod:`selfsim.serve.app`
turns HTTP requests into its calls. FastAPI and uvicorn are imported only here.
"""
