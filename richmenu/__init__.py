"""Rich menus: one for residents, one for council members, drawn by the project and deployed to LINE."""
