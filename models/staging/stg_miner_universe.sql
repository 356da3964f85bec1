-- The source's universe when it brings one (csv: universe.csv), else the built-in seed.
with

source_universe as (

    select * from {{ source('raw', 'miner_universe') }}

),

seed_universe as (

    select * from {{ ref('miner_universe') }}

),

chosen as (

    select
        ticker,
        name,
        exchange,
        listed_on,
        delisted_on
    from source_universe
    union all
    select
        ticker,
        name,
        exchange,
        listed_on,
        delisted_on
    from seed_universe
    where not exists (select 1 from source_universe)

),

renamed as (

    select
        upper(trim(ticker)) as ticker,
        trim(name) as company_name,
        upper(trim(exchange)) as exchange,
        cast(listed_on as date) as listed_on,
        cast(delisted_on as date) as delisted_on

    from chosen

)

select * from renamed
