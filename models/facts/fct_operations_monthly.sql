-- One row per month with miner closes: what the member miners that reported operations run,
-- together (members as fct_equity_monthly counts them: a close on the month's last trading day).
-- Only members with an operations report count in these sums, and `listed_operations_coverage`
-- says how many they were. JPMorgan's multiple - their market cap over their proportional share of
-- the next four years' block rewards - sits next to its own history like the other gauges.
{%- set to_date = 'order by month rows between unbounded preceding and current row' %}
with

miners as (

    select * from {{ ref('fct_miner_operations_monthly') }}

),

chain as (

    select * from {{ ref('fct_chain_monthly') }}

),

totals as (

    select
        month,
        max(case when is_partial_month then 1 else 0 end) = 1 as is_partial_month,
        count(case when is_member and has_operations_report then 1 end) as listed_operations_coverage,
        sum(case when is_member then operating_hashrate_ehs end) as listed_operating_hashrate_ehs,
        sum(case when is_member then btc_produced end) as listed_btc_produced,
        sum(case when is_member then btc_held end) as listed_btc_held,
        sum(case when is_member and has_operations_report then market_cap_usd end) as listed_operations_market_cap_usd,
        -- enterprise value needs a balance sheet: these members' EV over these members' EH/s
        sum(case when is_member and has_operations_report then enterprise_value_usd end) as combined_ev_usd,
        sum(
            case
                when
                    is_member and has_operations_report and enterprise_value_usd is not null
                    then operating_hashrate_ehs
            end
        )
            as ev_operating_hashrate_ehs,
        max(network_hashrate_avg_ehs) as network_hashrate_avg_ehs

    from miners
    group by month

),

-- Installed EH/s added by the members that reported both this month and the previous one: a
-- listing, a delisting or a first report is not capacity added.
added as (

    select
        miners.month,
        sum(miners.installed_hashrate_ehs - previous_month.installed_hashrate_ehs) as listed_hashrate_added_ehs

    from miners
    inner join miners as previous_month
        on
            previous_month.ticker = miners.ticker
            and previous_month.month = cast({{ dbt.dateadd('month', -1, 'miners.month') }} as date)
            and previous_month.is_member
            and previous_month.has_operations_report
            and not previous_month.is_partial_month
    where
        miners.is_member
        and miners.has_operations_report
        and not miners.is_partial_month
    group by miners.month

),

shares as (

    select
        totals.*,
        added.listed_hashrate_added_ehs,
        totals.listed_operating_hashrate_ehs / nullif(totals.network_hashrate_avg_ehs, 0) as listed_hashrate_share,
        chain.next_4y_rewards_value_usd

    from totals
    left join added on added.month = totals.month
    left join chain on chain.month = totals.month

),

multiples as (

    select
        shares.*,
        shares.listed_hashrate_share * shares.next_4y_rewards_value_usd as proportional_4y_rewards_value_usd,
        shares.listed_operations_market_cap_usd
        / nullif(shares.listed_hashrate_share * shares.next_4y_rewards_value_usd, 0)
            as mcap_to_proportional_4y_rewards

    from shares

),

running as (

    select
        multiples.*,
        max(case when not multiples.is_partial_month then multiples.mcap_to_proportional_4y_rewards end)
            over ({{ to_date }})
            as mcap_to_proportional_4y_rewards_peak,
        avg(case when not multiples.is_partial_month then multiples.mcap_to_proportional_4y_rewards end)
            over ({{ to_date }})
            as mcap_to_proportional_4y_rewards_avg

    from multiples

),

final as (

    select
        running.month,
        running.is_partial_month,
        running.listed_operations_coverage,
        running.listed_operating_hashrate_ehs,
        running.listed_hashrate_share,
        case
            when not running.is_partial_month and not previous_month.is_partial_month then
                running.listed_hashrate_share - previous_month.listed_hashrate_share
        end as listed_hashrate_share_change,
        running.listed_hashrate_added_ehs,
        running.listed_btc_produced,
        running.listed_btc_held,
        running.listed_operations_market_cap_usd,
        running.proportional_4y_rewards_value_usd,
        running.mcap_to_proportional_4y_rewards,
        running.mcap_to_proportional_4y_rewards_peak,
        -- the running peak only rises: the first month with the peak's value set it
        case
            when running.mcap_to_proportional_4y_rewards_peak is not null then
                min(running.month) over (partition by running.mcap_to_proportional_4y_rewards_peak)
        end as mcap_to_proportional_4y_rewards_peak_month,
        running.mcap_to_proportional_4y_rewards_avg,
        running.combined_ev_usd,
        running.combined_ev_usd / nullif(running.ev_operating_hashrate_ehs, 0) as ev_per_ehs_usd

    from running
    left join running as previous_month
        on previous_month.month = cast({{ dbt.dateadd('month', -1, 'running.month') }} as date)

)

select * from final
