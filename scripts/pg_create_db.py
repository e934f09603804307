"""Create an empty PostgreSQL database for the test suite (dropping an old one of that name)."""

import sys

import psycopg


def main(name: str, server: str = "postgresql://postgres@127.0.0.1:5432/postgres") -> None:
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    print(f"created database {name}")


if __name__ == "__main__":
    main(*sys.argv[1:])
