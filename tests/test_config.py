import pytest

from app import create_app
from config import ProductionConfig


def test_production_refuses_to_start_without_secret_key(monkeypatch):
    monkeypatch.setattr(ProductionConfig, "SECRET_KEY", None)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(ProductionConfig)


def test_development_keeps_a_generated_secret_key(tmp_path, monkeypatch):
    import config

    monkeypatch.setattr(config, "INSTANCE_DIR", tmp_path)
    first = config._development_secret_key()
    assert len(first) == 64
    assert config._development_secret_key() == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_unknown_app_env_is_refused(monkeypatch):
    import config

    monkeypatch.setenv("APP_ENV", "staging")
    with pytest.raises(RuntimeError, match="APP_ENV"):
        config.config_from_environment()


def test_sqlite_connections_use_wal_and_foreign_keys(app):
    from app.extensions import db

    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite pragmas")
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
