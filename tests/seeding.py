"""Rows by the hundred thousand for the benchmarks: one ``INSERT ... SELECT`` over a series, every column
of the model filled.

A seed names only the columns it varies, as SQL expressions over its series; every other column gets
what the model gives a new row (its default, ``auto_now``, "" for text, NULL where allowed). A column added to the model later is so filled as the application fills it, and
one that is NOT NULL with no default fails here, named, instead of as an IntegrityError in the middle
of a seed (the audit's benchmark once failed so on ``waiting_since``).
"""

from django.db import connection
from django.db.models import Model


def insert_select(model: type[Model], *, rows_from: str, values: dict[str, str], params: dict) -> None:
    """``INSERT INTO <model's table> (<every column but the id>) SELECT ... FROM <rows_from>``.

    ``values``: SQL expressions by column name (``contact_id``, not ``contact``), which may use
    ``rows_from``'s columns and ``%(name)s`` placeholders of ``params``.
    """
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    unknown = values.keys() - {field.column for field in fields}
    if unknown:
        raise ValueError(f"{model._meta.db_table} has no column {', '.join(sorted(unknown))}")
    new, columns, selected, params = model(), [], [], dict(params)
    for field in fields:
        columns.append(connection.ops.quote_name(field.column))
        if field.column in values:
            selected.append(values[field.column])
            continue
        value = field.pre_save(new, add=True)
        if value is None and not field.null:
            raise ValueError(
                f"the seed gives {model._meta.db_table}.{field.column} no value, and the model no default"
            )
        params[f"model_{field.column}"] = field.get_db_prep_save(value, connection)
        selected.append(f"%(model_{field.column})s")
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({', '.join(columns)}) "
            f"SELECT {', '.join(selected)} FROM {rows_from}",
            params,
        )
