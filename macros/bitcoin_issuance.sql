{#-
  Bitcoin's issuance schedule, in exact integer satoshi arithmetic.

  The subsidy of block h is 5,000,000,000 sat shifted right once per 210,000 blocks:
  floor(5e9 / 2^(h div 210,000)). It is zero from era 33 (height 6,930,000) on; Bitcoin Core also
  returns zero from the 64th halving, which this covers trivially. Every subsidy figure in the
  project (a block, a day, a month, supply, the next four years, the maximum supply) is one call of
  bitcoin_subsidy_sat_between, a closed form per era: no row per block.
-#}

{% macro bitcoin_initial_subsidy_sat() %}{{ return(5000000000) }}{% endmacro %}

{% macro bitcoin_halving_interval() %}{{ return(210000) }}{% endmacro %}

{% macro bitcoin_difficulty_epoch_blocks() %}{{ return(2016) }}{% endmacro %}

{#- Blocks in "four years" of the note: 4 x 365 days x 144 blocks a day. -#}
{% macro bitcoin_blocks_in_four_years() %}{{ return(4 * 365 * 144) }}{% endmacro %}

{#- [(era, first_height, last_height, subsidy_sat)] for the eras with a nonzero subsidy (0..32). -#}
{% macro bitcoin_subsidy_eras() %}
    {%- set interval = bitcoin_halving_interval() -%}
    {%- set eras = [] -%}
    {%- for era in range(64) -%}
        {%- set subsidy_sat = bitcoin_initial_subsidy_sat() // (2 ** era) -%}
        {%- if subsidy_sat > 0 -%}
            {%- do eras.append((era, era * interval, (era + 1) * interval - 1, subsidy_sat)) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(eras) }}
{% endmacro %}

{#-
  Sum of the subsidies of blocks first_height..last_height (inclusive), sat, BIGINT: for each era,
  the blocks of the range inside it times the era's subsidy. Exact across halvings; 0 for an empty
  range (last < first); null when either bound is null.
-#}
{% macro bitcoin_subsidy_sat_between(first_height, last_height) -%}
    {#- least() and greatest() skip nulls in DuckDB (and Postgres), so null bounds are tested first -#}
    case when ({{ first_height }}) is not null and ({{ last_height }}) is not null then cast((
    {%- for era, era_first, era_last, subsidy_sat in bitcoin_subsidy_eras() %}
        {{ '+ ' if not loop.first }}greatest(0, least(cast({{ last_height }} as bigint), {{ era_last }}) - greatest(cast({{ first_height }} as bigint), {{ era_first }}) + 1) * {{ subsidy_sat }}
    {%- endfor %}
    ) as bigint) end
{%- endmacro %}

{#- Subsidy of the block at `height`, sat. -#}
{% macro bitcoin_subsidy_sat(height) -%}
    {{ bitcoin_subsidy_sat_between(height, height) }}
{%- endmacro %}

{#- Maximum supply: the subsidies of every block ever, sat (2,099,999,997,690,000). -#}
{% macro bitcoin_max_supply_sat() -%}
    {{ bitcoin_subsidy_sat_between(0, bitcoin_subsidy_eras()[-1][2]) }}
{%- endmacro %}

{#- Satoshis to BTC, exactly: DECIMAL(20, 8) (12 digits before the point, 8 after). -#}
{% macro bitcoin_sat_to_btc(sat) -%}
    cast(({{ sat }}) * 0.00000001 as decimal(20, 8))
{%- endmacro %}

{#- Halving era of a height (0 = the 50 BTC era). -#}
{% macro bitcoin_halving_era(height) -%}
    (({{ height }}) // {{ bitcoin_halving_interval() }})
{%- endmacro %}

{#- Difficulty epoch of a height (epoch n = heights 2016 n .. 2016 n + 2015). -#}
{% macro bitcoin_difficulty_epoch(height) -%}
    (({{ height }}) // {{ bitcoin_difficulty_epoch_blocks() }})
{%- endmacro %}
