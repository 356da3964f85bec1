with

source as (

    select * from {{ source('raw', 'miner_operations') }}

),

renamed as (

    select
        upper(trim(ticker)) as ticker,
        cast(month as date) as month,
        cast(operating_hashrate_ehs as double) as operating_hashrate_ehs,
        cast(installed_hashrate_ehs as double) as installed_hashrate_ehs,
        cast(btc_produced as double) as btc_produced,
        cast(btc_held as double) as btc_held,
        cast(btc_sold as double) as btc_sold,
        cast(fleet_efficiency_j_per_th as double) as fleet_efficiency_j_per_th,
        cast(power_cost_usd_per_mwh as double) as power_cost_usd_per_mwh

    from source

)

select * from renamed
