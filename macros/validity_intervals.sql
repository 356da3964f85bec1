{#-
  Joins on validity intervals [valid_from, valid_to), where a null valid_to means "still valid".
  `day < coalesce(valid_to, far future)` instead of `(valid_to is null or day < valid_to)`: the
  same rows, but a condition the join can evaluate directly; with the `or`, DuckDB compared every
  trading day with every report of its ticker (fct_equity_daily at 1,000 tickers x 20 years:
  3.1 s against 0.8 s).
-#}
{% macro before_interval_end(day, valid_to) -%}
    {{ day }} < coalesce({{ valid_to }}, cast('9999-12-31' as date))
{%- endmacro %}
