with

source as (

    select * from {{ source('raw', 'shares_outstanding') }}

),

renamed as (

    select
        upper(trim(ticker)) as ticker,
        cast(as_of as date) as reported_as_of,
        cast(shares as bigint) as reported_shares

    from source

)

select * from renamed
