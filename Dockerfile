FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY config ./config
COPY accounts ./accounts
COPY invoices ./invoices
COPY creditnotes ./creditnotes
COPY numbering ./numbering
COPY einvoice ./einvoice
COPY templates ./templates
COPY manage.py ./
RUN pip install --no-cache-dir -e . \
    && useradd --system --home /app stornare \
    && mkdir -p /app/media /app/staticfiles \
    && SECRET_KEY=build python manage.py collectstatic --noinput \
    && chown -R stornare /app
USER stornare
EXPOSE 8000
CMD ["gunicorn", "config.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
