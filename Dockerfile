# syntax=docker/dockerfile:1
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
RUN python -m venv /venv
COPY requirements.txt .
RUN /venv/bin/pip install -r requirements.txt

FROM python:3.11-slim
ENV PATH=/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DJANGO_SETTINGS_MODULE=bookstore.settings
RUN useradd --system --create-home --uid 10001 bookstore
WORKDIR /app
COPY --from=build /venv /venv
COPY --chown=bookstore:bookstore . .
# collectstatic needs a key to import settings; it is not used at run time.
RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput --verbosity 0
# The project's bytecode, written once here: with PYTHONDONTWRITEBYTECODE every process would otherwise compile
# every module from source at start, which costs each gunicorn worker about 1 MiB (and start-up time).
RUN python -m compileall -q -x '/app/tests/' /app
USER bookstore
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"
ENTRYPOINT ["gunicorn", "bookstore.wsgi:application", "-c", "gunicorn.conf.py"]
