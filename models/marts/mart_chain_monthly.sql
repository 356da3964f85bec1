-- One row per month of bitcoin chain economics, published for BI.
with

chain as (

    select * from {{ ref('fct_chain_monthly') }}

)

select * from chain
