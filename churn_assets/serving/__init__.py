"""The online scoring service (``python -m churn_assets serve``): the champion behind an ASGI
app that follows the ``@champion`` alias without a restart, answers with reasons, logs every
answer to ``prediction_log`` off the request path and lets ``@challenger`` score in shadow or
on a sticky share of customers. Needs the ``[serve]`` extra."""
