{#- Every floating-point column of the model holds finite numbers or null: no NaN, no +-inf. A NaN or
    an infinity is a valid DOUBLE, so no other check catches it (a close of 1e308 overflows a market
    cap to inf, and a gauge's peak and average with it). The columns are read from the built
    relation, so a column added later is checked without another declaration. Fails with one row
    per bad (row, column): the model's first column (its month), the column and the value. -#}
{% test numbers_are_finite(model) %}
{%- set floats = [] -%}
{%- set first = [] -%}
{%- if execute -%}
  {%- for column in adapter.get_columns_in_relation(model) -%}
    {%- if loop.first %}{% do first.append(column.name) %}{% endif -%}
    {%- if column.dtype | lower in ('double', 'float', 'real', 'float4', 'float8') %}{% do floats.append(column.name) %}{% endif -%}
  {%- endfor -%}
{%- endif %}
{%- if floats %}
{%- for column in floats %}
select {{ adapter.quote(first[0]) }} as row_key, '{{ column }}' as column_name, cast({{ adapter.quote(column) }} as varchar) as value
from {{ model }}
where not isfinite({{ adapter.quote(column) }})
{% if not loop.last %}union all{% endif %}
{%- endfor %}
{%- else %}
select null as row_key, null as column_name, null as value where false
{%- endif %}
{% endtest %}
