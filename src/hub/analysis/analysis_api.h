/* The findings routes (analysis_api.c). */
#ifndef VEIL_HUB_ANALYSIS_API_H
#define VEIL_HUB_ANALYSIS_API_H

/* Adds GET /api/v1/findings and POST /api/v1/findings/{id}/ack (from the module's .reg). */
void analysis_api_register(void);

#endif
