-- One row per calendar month of chain data: prices, hashrate, difficulty, hashprice, issuance,
-- supply and what is left to mine, with month-over-month changes between complete months only.
with

days as (

    select * from {{ ref('fct_chain_daily') }}

),

epochs as (

    select * from {{ ref('fct_difficulty_epochs') }}

),

-- Each day's log return on the previous calendar day's price (the first day of a month uses the
-- last day of the month before; a day without its previous day in the data has none).
daily_returns as (

    select
        days.day,
        days.month,
        ln(days.price_usd / previous_day.price_usd) as log_return

    from days
    inner join days as previous_day
        on previous_day.day = cast({{ dbt.dateadd('day', -1, 'days.day') }} as date)

),

volatility as (

    select
        month,
        stddev_samp(log_return) * sqrt(365) as btc_price_volatility_annualized

    from daily_returns
    group by month

),

monthly as (

    select
        month,
        count(*) as days_with_data,
        max(day) as month_end_day,
        cast(sum(blocks_mined) as bigint) as blocks_mined,
        cast(sum(subsidy_btc) as decimal(20, 8)) as subsidy_btc,
        cast(sum(fees_btc) as decimal(20, 8)) as fees_btc,
        avg(price_usd) as btc_price_avg_usd,
        avg(hashrate_ehs) as hashrate_avg_ehs,
        count(*) filter (where hashrate_method = 'implied') as implied_hashrate_days,
        avg(difficulty) as difficulty_avg,
        avg(hashprice_usd_per_ehs_day) as hashprice_usd_per_ehs_day

    from days
    group by month

),

month_end as (

    select
        monthly.*,
        cast(
            {{ dbt.datediff('monthly.month', dbt.dateadd('month', 1, 'monthly.month'), 'day') }} as integer  -- noqa: LT05
        ) as days_in_month,
        days.last_block_height as month_end_block_height,
        days.price_usd as btc_price_close_month_end_usd,
        days.price_7d_avg_usd as btc_price_month_end_usd,
        days.hashrate_7d_avg_ehs as hashrate_month_end_7d_avg_ehs,
        epochs.difficulty as difficulty_month_end,
        days.reported_supply_btc as reported_supply_month_end_btc

    from monthly
    inner join days on days.day = monthly.month_end_day
    left join epochs
        on epochs.epoch = {{ bitcoin_difficulty_epoch('days.last_block_height') }}

),

issuance as (

    select
        *,
        days_with_data < days_in_month as is_partial_month,
        cast(subsidy_btc + fees_btc as decimal(20, 8)) as miner_revenue_btc,
        cast(fees_btc / nullif(subsidy_btc + fees_btc, 0) as double) as fee_share_of_revenue,
        {{ bitcoin_subsidy_sat_between(0, 'month_end_block_height') }} as supply_month_end_sat,
        {{ bitcoin_subsidy_sat_between(
            'month_end_block_height + 1',
            'month_end_block_height + ' ~ bitcoin_blocks_in_four_years()
        ) }} as next_4y_subsidy_sat

    from month_end

),

in_btc as (

    select
        *,
        {{ bitcoin_sat_to_btc('supply_month_end_sat') }} as supply_month_end_btc,
        {{ bitcoin_sat_to_btc(bitcoin_max_supply_sat() ~ ' - supply_month_end_sat') }} as remaining_btc,
        {{ bitcoin_sat_to_btc('next_4y_subsidy_sat') }} as next_4y_subsidy_btc

    from issuance

),

valued as (

    select
        *,
        cast(remaining_btc as double) * btc_price_month_end_usd as remaining_btc_value_usd,
        cast(next_4y_subsidy_btc as double) * btc_price_month_end_usd as next_4y_rewards_value_usd

    from in_btc

),

-- Month-over-month changes compare two complete, consecutive months; otherwise they stay null.
final as (

    select
        valued.month,
        valued.days_in_month,
        valued.days_with_data,
        valued.is_partial_month,
        valued.month_end_day,
        valued.month_end_block_height,
        valued.btc_price_avg_usd,
        valued.btc_price_close_month_end_usd,
        valued.btc_price_month_end_usd,
        valued.hashrate_avg_ehs,
        valued.hashrate_month_end_7d_avg_ehs,
        valued.implied_hashrate_days,
        valued.difficulty_avg,
        valued.difficulty_month_end,
        valued.blocks_mined,
        valued.subsidy_btc,
        valued.fees_btc,
        valued.miner_revenue_btc,
        valued.fee_share_of_revenue,
        valued.hashprice_usd_per_ehs_day,
        valued.supply_month_end_btc,
        valued.reported_supply_month_end_btc,
        valued.remaining_btc,
        valued.remaining_btc_value_usd,
        valued.next_4y_subsidy_btc,
        valued.next_4y_rewards_value_usd,
        valued.btc_price_avg_usd / previous.btc_price_avg_usd - 1 as btc_price_avg_mom,
        valued.btc_price_month_end_usd / previous.btc_price_month_end_usd - 1 as btc_price_month_end_mom,
        valued.hashrate_avg_ehs / previous.hashrate_avg_ehs - 1 as hashrate_avg_mom,
        valued.hashrate_month_end_7d_avg_ehs / previous.hashrate_month_end_7d_avg_ehs - 1 as hashrate_month_end_mom,
        valued.difficulty_avg / previous.difficulty_avg - 1 as difficulty_avg_mom,
        valued.difficulty_month_end / previous.difficulty_month_end - 1 as difficulty_month_end_mom,
        valued.hashprice_usd_per_ehs_day / previous.hashprice_usd_per_ehs_day - 1 as hashprice_mom,
        volatility.btc_price_volatility_annualized

    from valued
    left join volatility on volatility.month = valued.month
    left join valued as previous
        on
            previous.month = cast({{ dbt.dateadd('month', -1, 'valued.month') }} as date)
            and not previous.is_partial_month
            and not valued.is_partial_month

)

select * from final
