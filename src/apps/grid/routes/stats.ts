import { Type } from 'typebox';
import type { Http } from '../../../platform/app.ts';
import { History, HistoryQuery } from '../schemas.ts';
import type { GridService } from '../service.ts';

export function statsRoutes(http: Http, svc: GridService) {
  const tags = ['grid: stats'];
  http.get(
    '/stats/network',
    {
      config: { auth: 'user' },
      schema: {
        tags,
        summary: 'Network statistics from each VEN’s latest telemetry',
        response: {
          200: Type.Object({
            venCount: Type.Number(),
            onlineVens: Type.Number(),
            controllablePowerKw: Type.Number(),
            potentialLoadReductionKw: Type.Number(),
            householdUsageKw: Type.Number(),
            currentLoadReductionKw: Type.Number(),
            networkEfficiency: Type.Union([Type.Number(), Type.Null()]),
            averageHousePower: Type.Number(),
            totalHousePowerToday: Type.Number(),
          }),
        },
      },
    },
    () => svc.networkStats(),
  );
  http.get(
    '/stats/loads',
    {
      config: { auth: 'user' },
      schema: {
        tags,
        summary: 'Capacity, shed capability and usage by load type',
        response: {
          200: Type.Array(
            Type.Object({
              type: Type.String(),
              totalCapacityKw: Type.Number(),
              totalShedCapabilityKw: Type.Number(),
              currentUsageKw: Type.Number(),
            }),
          ),
        },
      },
    },
    () => svc.loadStats(),
  );
  http.get(
    '/stats/network/history',
    {
      config: { auth: 'user' },
      schema: {
        tags,
        summary: 'Network power in epoch-aligned buckets (bucket means summed across VENs)',
        querystring: HistoryQuery,
        response: { 200: History },
      },
    },
    (req) => svc.history(req.query, {}),
  );
}
