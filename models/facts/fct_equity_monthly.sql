-- One row per month with miner closes: the equity side of the monthly note - membership count,
-- combined market cap and its changes, leader and laggard, and the two valuation gauges next to
-- their own history (running peak, the month it was set, running mean, over complete months).
{%- set gauges = {
    'mcap_to_remaining_btc': 'remaining_btc_value_usd',
    'mcap_to_4y_rewards': 'next_4y_rewards_value_usd',
} %}
{%- set to_date = 'order by month rows between unbounded preceding and current row' %}
with

miners as (

    select * from {{ ref('fct_miner_monthly') }}

),

chain as (

    select * from {{ ref('fct_chain_monthly') }}

),

month_ends as (

    select * from {{ ref('int_trading_month_ends') }}

),

totals as (

    select
        month,
        count(case when is_member then 1 end) as miner_count,
        count(case when is_member and market_cap_usd is not null then 1 end) as members_with_market_cap,
        {{ dbt.listagg(
            "case when is_member and market_cap_usd is null then ticker end",
            "', '",
            "order by case when is_member and market_cap_usd is null then ticker end",
        ) }} as members_without_market_cap,
        sum(market_cap_usd) as combined_market_cap_usd,
        sum(case when previous_month_market_cap_usd is not null then market_cap_usd end)
            as like_for_like_market_cap_usd,
        sum(case when market_cap_usd is not null then previous_month_market_cap_usd end)
            as like_for_like_previous_market_cap_usd,
        max(return_rank) as ranked_miners

    from miners
    group by month

),

leaders as (

    select
        month,
        ticker as leader_ticker,
        monthly_return as leader_return
    from miners
    where return_rank = 1

),

laggards as (

    select
        miners.month,
        miners.ticker as laggard_ticker,
        miners.monthly_return as laggard_return
    from miners
    inner join totals
        on
            totals.month = miners.month
            and totals.ranked_miners = miners.return_rank

),

-- A partial month (data ending before the month's last NYSE session) is not compared, nor is the
-- month after one: month-to-date figures are not month ends.
changes as (

    select
        totals.month,
        month_ends.is_partial_month,
        totals.miner_count,
        totals.members_with_market_cap,
        totals.members_without_market_cap,
        totals.combined_market_cap_usd,
        case
            when not month_ends.is_partial_month then
                totals.combined_market_cap_usd / nullif(previous_month.combined_market_cap_usd, 0) - 1
        end as combined_market_cap_mom,
        case
            when not month_ends.is_partial_month then
                totals.like_for_like_market_cap_usd / nullif(totals.like_for_like_previous_market_cap_usd, 0) - 1
        end as combined_market_cap_like_for_like_mom

    from totals
    inner join month_ends on month_ends.month = totals.month
    left join month_ends as previous_end
        on
            previous_end.month = cast({{ dbt.dateadd('month', -1, 'totals.month') }} as date)
            and not previous_end.is_partial_month
    left join totals as previous_month
        on previous_month.month = previous_end.month

),

ratios as (

    select
        changes.*,
    {%- for gauge, denominator in gauges.items() %}
        changes.combined_market_cap_usd / nullif(chain.{{ denominator }}, 0) as {{ gauge }}_ratio
        {{- "," if not loop.last }}
    {%- endfor %}

    from changes
    left join chain on chain.month = changes.month

),

running as (

    select
        ratios.*,
    {%- for gauge in gauges %}
        max(case when not ratios.is_partial_month then {{ gauge }}_ratio end) over ({{ to_date }}) as {{ gauge }}_peak,
        avg(case when not ratios.is_partial_month then {{ gauge }}_ratio end) over ({{ to_date }}) as {{ gauge }}_avg
        {{- "," if not loop.last }}
    {%- endfor %}

    from ratios

),

-- The running peak only rises, so the months sharing a peak value are consecutive and the first
-- of them is the month that set it.
peak_months as (

    select
        running.*,
    {%- for gauge in gauges %}
        case
            when {{ gauge }}_peak is not null then
                min(running.month) over (partition by {{ gauge }}_peak)
        end as {{ gauge }}_peak_month
        {{- "," if not loop.last }}
    {%- endfor %}

    from running

),

final as (

    select
        peak_months.month,
        peak_months.is_partial_month,
        peak_months.miner_count,
        peak_months.members_with_market_cap,
        peak_months.members_without_market_cap,
        peak_months.combined_market_cap_usd,
        peak_months.combined_market_cap_mom,
        peak_months.combined_market_cap_like_for_like_mom,
        leaders.leader_ticker,
        leaders.leader_return,
        laggards.laggard_ticker,
        laggards.laggard_return,
    {%- for gauge in gauges %}
        peak_months.{{ gauge }}_ratio,
        peak_months.{{ gauge }}_peak,
        peak_months.{{ gauge }}_peak_month,
        peak_months.{{ gauge }}_avg
        {{- "," if not loop.last }}
    {%- endfor %}

    from peak_months
    left join leaders on leaders.month = peak_months.month
    left join laggards on laggards.month = peak_months.month

)

select * from final
