"""``.. simran-schema:: SECTION`` — a scenario section's fields as a table, read from the pydantic
models through :mod:`simran.cli.config_schema` (the rows ``simran config schema`` prints), so the
reference is never retyped."""

from __future__ import annotations

from docutils import nodes
from docutils.parsers.rst import Directive, directives

from simran.cli.config_schema import field_rows, section_model


def _table(rows: list[list[str]], widths: list[int]) -> nodes.table:
    table = nodes.table()
    group = nodes.tgroup(cols=len(widths))
    table += group
    for w in widths:
        group += nodes.colspec(colwidth=w)
    head, body = nodes.thead(), nodes.tbody()
    group += head
    group += body
    for i, cells in enumerate(rows):
        row = nodes.row()
        for text in cells:
            entry = nodes.entry()
            entry += nodes.paragraph(text=text)
            row += entry
        (head if i == 0 else body).append(row)
    return table


class SchemaDirective(Directive):
    """One section: its docstring, then field / type / default / range / description."""

    required_arguments = 0
    optional_arguments = 1
    option_spec = {"title": directives.unchanged}

    def run(self):
        section = self.arguments[0] if self.arguments else ""
        model = section_model(section)
        title = self.options.get("title") or (f"[{section}]" if section else "top level")
        sect = nodes.section(ids=[nodes.make_id(f"schema-{section or 'top'}")])
        sect += nodes.title(text=title)
        sect += nodes.paragraph(text=" ".join((model.__doc__ or "").split()))
        rows = [["field", "type", "default", "range", "description"]]
        rows += [[r.name, r.type, r.default, r.range, r.description] for r in field_rows(section)]
        sect += _table(rows, [14, 16, 10, 10, 50])
        return [sect]


def setup(app):
    app.add_directive("simran-schema", SchemaDirective)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
