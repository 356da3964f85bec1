{#-
  Generic test: every member of a complete month has a market cap. A member without one (no shares
  report on or before its month-end close) silently drops out of the combined cap and the gauges;
  the analyst can let it through for a month by listing `TICKER:YYYY-MM` in WAREHOUSE_ALLOW_MISSING_CAP,
  which the pipeline hands dbt as the var `missing_caps_allowed`.
-#}
{% test members_have_a_market_cap(model) %}
{%- set allowed = var('missing_caps_allowed', []) %}
select
    month,
    ticker,
    'member without a market cap (no shares report on or before its month-end close); '
    || 'WAREHOUSE_ALLOW_MISSING_CAP=' || ticker || ':' || substring(cast(month as {{ dbt.type_string() }}), 1, 7)
    || ' publishes without it' as problem
from {{ model }}
where
    is_member
    and not is_partial_month
    and market_cap_usd is null
    {%- if allowed %}
    and ticker || ':' || substring(cast(month as {{ dbt.type_string() }}), 1, 7) not in (
        {%- for entry in allowed %}'{{ entry | replace("'", "''") }}'{{ ", " if not loop.last }}{% endfor -%}
    )
    {%- endif %}
{% endtest %}
