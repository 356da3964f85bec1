{#-
  Running product of a positive expression over a window, e.g. cumulative split factors.
  The portable form exp(sum(ln(x))) is off in the last bit (exp(ln(3)) = 3.0000000000000004), which
  leaks into every split-adjusted close; DuckDB multiplies exactly with product().
-#}
{% macro equity_running_product(expression, window) -%}
    {{ return(adapter.dispatch('equity_running_product')(expression, window)) }}
{%- endmacro %}

{% macro default__equity_running_product(expression, window) -%}
    exp(sum(ln({{ expression }})) over ({{ window }}))
{%- endmacro %}

{% macro duckdb__equity_running_product(expression, window) -%}
    product({{ expression }}) over ({{ window }})
{%- endmacro %}
