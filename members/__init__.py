"""Council members (委員): registration by staff, subcommittees (部会), linking to a LINE account by one-time code."""
