-- One row per UTC day: the day's block-height range, what the issuance schedule says about it
-- (exact satoshi), and the hashrate the day is measured at (the source's, else implied).
with

days as (

    select * from {{ ref('stg_btc_daily') }}

),

heights as (

    select
        *,
        last_block_height - blocks_mined + 1 as first_block_height

    from days

),

issuance as (

    select
        day,
        cast({{ dbt.date_trunc('month', 'day') }} as date) as month,
        first_block_height,
        last_block_height,
        blocks_mined,
        {{ bitcoin_subsidy_sat_between('first_block_height', 'last_block_height') }} as subsidy_sat,
        {{ bitcoin_subsidy_sat_between(0, 'last_block_height') }} as supply_sat,
        supply_btc as reported_supply_btc,
        fees_btc,
        price_usd,
        difficulty,
        reported_hashrate_ehs,
        -- expected hashes of the day's blocks (difficulty x 2^32 each) over a day, in EH/s
        blocks_mined * difficulty * 4294967296 / 86400 / 1e18 as implied_hashrate_ehs

    from heights

),

hashrate_chosen as (

    select
        *,
        coalesce(reported_hashrate_ehs, implied_hashrate_ehs) as hashrate_ehs,
        case when reported_hashrate_ehs is null then 'implied' else 'reported' end as hashrate_method

    from issuance

)

select * from hashrate_chosen
