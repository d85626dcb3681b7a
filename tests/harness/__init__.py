"""What tests run beside the product, each started, waited for and stopped one way.

- processes: start a program in its own process group, wait for it, stop
  the group (SIGTERM, then SIGKILL), show its log when the test fails;
  `wait_until`, `free_port`.
- daphne: real daphne instances (`daphne_instance`).
- gunicorn: real gunicorn instances, the production page server (`gunicorn_instance`).
- worker: a real Celery worker (`celery_worker`), beat (`celery_beat`), `worker_env`, queue helpers.
- smtp: a real SMTP receiver in this process (`smtp_sink`).
- webhook_receiver: a delivery partner's HTTP endpoint in this process (`webhook_receiver`).
- redis_server: a throwaway redis-server (`start_redis`).
- postgres_cluster: a throwaway PostgreSQL cluster to restart (`postgres_cluster`).
- customers: customers ordering through the real pages from threads (`Customer`, `Visits`).
"""
